"""The report's charts, drawn with matplotlib into SVG whose text is turned
into paths (matplotlib shapes Arabic and lays it out right to left; as
paths, whatever renders the SVG shows the same glyphs). `Figure()` rather
than pyplot (no global state), a fixed hash salt and no date in the
metadata, so the same figures give byte-identical SVG.

A chart with nothing to show is not drawn: the functions return None and
the report says so in a sentence. Colours are a dark blue and a light
amber, told apart in greyscale too (and received bars are hatched).
"""

import base64
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import matplotlib

matplotlib.use("Agg")

from babel.dates import format_skeleton
from babel.numbers import format_compact_decimal, format_decimal
from matplotlib import font_manager, rcParams
from matplotlib.dates import DayLocator, MonthLocator, YearLocator, date2num, num2date
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.typing import RcKeyType

from reports.formatting import DONOR_TYPE_LABELS, babel_locale

rcParams["svg.hashsalt"] = "vtf-reports"
rcParams["svg.fonttype"] = "path"

PLEDGED_COLOUR = "#1b365d"  # dark blue: about 20% luminance
RECEIVED_COLOUR = "#f2a900"  # amber: about 70% luminance
GOAL_COLOUR = "#6b6b6b"
TEXT_COLOUR = "#1b1b1b"

# Noto first (Latin, Cyrillic, Arabic, Chinese), DejaVu where Noto is absent.
FONT_FILES = ("NotoSans-Regular.ttf", "NotoSansArabic-Regular.ttf", "NotoSansCJK-Regular.ttc")
PREFERRED_FONTS = ["Noto Sans", "Noto Sans Arabic", "Noto Sans CJK JP", "DejaVu Sans"]


def _font_family() -> list[str]:
    """Register the Noto files with matplotlib directly: its font cache may
    predate their installation."""
    for path in font_manager.findSystemFonts():
        if path.rsplit("/", 1)[-1] in FONT_FILES:
            font_manager.fontManager.addfont(path)
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return [name for name in PREFERRED_FONTS if name in installed] or ["DejaVu Sans"]


FONT_FAMILY = _font_family()
STYLE: dict[RcKeyType, Any] = {
    "font.family": FONT_FAMILY,
    "font.size": 9,
    "text.color": TEXT_COLOUR,
    "axes.labelcolor": TEXT_COLOUR,
}


def warm_up() -> None:
    """Draw a small chart once in this process: matplotlib's first drawing
    loads the fonts and fills its caches (seconds). Done before the page
    processes are forked, they do not each pay it again."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(2, 1))
        axes = _axes(figure, rtl=False)
        axes.bar([0, 1], [1.0, 2.0], label="Pledged \u0645\u0631\u062d\u0628\u0627")
        axes.set_xlabel("US dollars \u0645\u0631\u062d\u0628\u0627 \u4f60\u597d")
        axes.legend()
        _svg_data_uri(figure)


def _svg_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.05)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _axes(figure: Figure, rtl: bool):
    axes = figure.add_subplot(1, 1, 1)
    axes.spines[["top", "right"]].set_visible(False)
    if rtl:
        axes.yaxis.tick_right()
        axes.yaxis.set_label_position("right")
        axes.spines["left"].set_visible(False)
        axes.spines["right"].set_visible(True)
    return axes


def _compact_formatter(language: str) -> FuncFormatter:
    """ "1.5M", "1,5 млн", "150万": amounts as the language shortens them."""
    locale = babel_locale(language)
    try:
        format_compact_decimal(2_000_000, locale=locale)
    except KeyError:
        # Babel lacks some plural forms of the locale's compact patterns
        # (Arabic "two million"): whole numbers, then, for every tick alike.
        return FuncFormatter(lambda value, _pos=None: format_decimal(round(value), locale=locale))
    return FuncFormatter(lambda value, _pos=None: format_compact_decimal(value, locale=locale, fraction_digits=1))


def pledged_vs_received(by_donor_type: list[dict], *, labels: dict[str, str], language: str, rtl: bool) -> str | None:
    """Horizontal bars per donor type with money, pledged and received,
    each labelled with its amount; None when no donor type has any."""
    rows = [row for row in by_donor_type if Decimal(row["pledged"]) or Decimal(row["received"])]
    if not rows:
        return None
    compact = _compact_formatter(language)
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(7, 0.7 + 0.55 * len(rows)))
        axes = _axes(figure, rtl)
        positions = list(range(len(rows)))
        series = [
            ("pledged", PLEDGED_COLOUR, "", -0.2),
            ("received", RECEIVED_COLOUR, "////", 0.2),
        ]
        largest = max(max(float(row["pledged"]), float(row["received"])) for row in rows)
        for key, colour, hatch, offset in series:
            values = [float(row[key]) for row in rows]
            axes.barh(
                bars_positions(positions, offset),
                values,
                height=0.38,
                color=colour,
                hatch=hatch,
                edgecolor="white" if hatch else colour,
                linewidth=0,
                label=labels[key],
            )
            # Each bar's amount just past its end (towards the start of
            # the line in Arabic, where the axis runs right to left).
            for y, value in zip(bars_positions(positions, offset), values, strict=True):
                axes.text(
                    value + largest * 0.01, y, compact(value), ha="right" if rtl else "left", va="center", fontsize=8
                )
        axes.set_yticks(positions, [str(DONOR_TYPE_LABELS[row["type"]]) for row in rows])
        axes.tick_params(axis="y", length=0)
        axes.invert_yaxis()
        axes.set_xlim(0, largest * 1.18)
        if rtl:
            axes.invert_xaxis()
        axes.xaxis.set_major_locator(MaxNLocator(5))
        axes.xaxis.set_major_formatter(compact)
        axes.set_xlabel(labels["usd"])
        axes.legend(loc="lower left" if rtl else "lower right", frameon=False, ncols=2)
        return _svg_data_uri(figure)


def bars_positions(positions: list[int], offset: float) -> list[float]:
    return [p + offset for p in positions]


def _date_ticks(start: date, end: date):
    """Ticks a reader expects for the span: years, quarters, months or days."""
    days = (end - start).days
    if days > 4 * 366:
        return YearLocator(), "y"
    if days > 2 * 366:
        return MonthLocator(bymonth=(1, 7)), "yMMM"
    if days > 200:
        return MonthLocator(bymonth=(1, 4, 7, 10)), "yMMM"
    if days > 62:
        return MonthLocator(), "yMMM"
    return DayLocator(interval=max(1, days // 6)), "MMMd"


def _cumulative_at(rows: list[dict], day: date) -> float:
    value = 0.0
    for row in rows:
        if date.fromisoformat(row["date"]) <= day:
            value = float(row["cumulative"])
    return value


# A 7-inch chart shows no more steps than this; more only cost drawing
# time, in matplotlib and again in every PDF (a campaign has thousands of
# receipt dates).
MAX_STEPS = 240


def _step_series(rows: list[dict], start: date, end: date) -> tuple[list[date], list[float]]:
    """The cumulative value from `start` to `end`: what stood before the
    span, then each change inside it (the last of each of MAX_STEPS equal
    slices of the span), held to the end."""
    dates = [start]
    values = [_cumulative_at(rows, start)]
    slice_days = max(1, (end - start).days / MAX_STEPS)
    for row in rows:
        day = date.fromisoformat(row["date"])
        if not start < day <= end:
            continue
        if len(dates) > 1 and int((day - start).days / slice_days) == int((dates[-1] - start).days / slice_days):
            dates[-1], values[-1] = day, float(row["cumulative"])  # the same slice: keep its last value
        else:
            dates.append(day)
            values.append(float(row["cumulative"]))
    dates.append(end)
    values.append(values[-1])
    return dates, values


def cumulative_against_goal(
    pledged: list[dict],
    received: list[dict],
    *,
    start: date,
    end: date,
    goal: Decimal,
    labels: dict[str, str],
    language: str,
    rtl: bool,
) -> str | None:
    """Cumulative pledged and received over the report's span, against the
    goal; None when nothing was pledged or received by its end."""
    end = max(end, start + timedelta(days=1))
    pledged_dates, pledged_values = _step_series(pledged, start, end)
    received_dates, received_values = _step_series(received, start, end)
    if not (pledged_values[-1] or received_values[-1]):
        return None
    locale = babel_locale(language)
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(7, 3))
        axes = _axes(figure, rtl)
        axes.step(
            pledged_dates, pledged_values, where="post", color=PLEDGED_COLOUR, linewidth=2, label=labels["pledged"]
        )
        axes.fill_between(
            received_dates,
            received_values,
            step="post",
            facecolor=RECEIVED_COLOUR,
            linewidth=0,
            label=labels["received"],
        )
        if goal:
            axes.axhline(float(goal), color=GOAL_COLOUR, linestyle="--", linewidth=1, label=labels["goal"])
        axes.set_xlim(date2num(start), date2num(end))
        axes.set_ylim(0, max(float(goal), pledged_values[-1], received_values[-1]) * 1.08)
        locator, skeleton = _date_ticks(start, end)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(
            FuncFormatter(lambda value, _pos=None: format_skeleton(skeleton, num2date(value).date(), locale=locale))
        )
        axes.yaxis.set_major_locator(MaxNLocator(5))
        axes.yaxis.set_major_formatter(_compact_formatter(language))
        axes.set_ylabel(labels["usd"])
        if rtl:
            axes.invert_xaxis()
        axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, ncols=3)
        return _svg_data_uri(figure)
