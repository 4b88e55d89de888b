"""The report's charts, drawn with matplotlib into SVG whose text is turned
into paths (so Arabic and Chinese come out shaped, whatever renders the
SVG). `Figure()` rather than pyplot (no global state, thread-safe enough
for a worker), a fixed hash salt and no date in the metadata, so the same
figures give byte-identical SVG."""

import base64
import io
from datetime import date
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager, rcParams
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from reports.formatting import DONOR_TYPE_LABELS

rcParams["svg.hashsalt"] = "vtf-reports"
rcParams["svg.fonttype"] = "path"

PREFERRED_FONTS = ["Noto Sans", "Noto Sans Arabic", "Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
PLEDGED_COLOUR = "#1f5fa8"
RECEIVED_COLOUR = "#5fa83a"


def _font_family() -> list[str]:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return [name for name in PREFERRED_FONTS if name in installed] or ["DejaVu Sans"]


FONT_FAMILY = _font_family()


def _svg_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _axes(figure: Figure, rtl: bool):
    axes = figure.add_subplot(1, 1, 1)
    axes.spines[["top", "right"]].set_visible(False)
    if rtl:
        axes.yaxis.tick_right()
        axes.spines["left"].set_visible(False)
        axes.spines["right"].set_visible(True)
    return axes


def _compact(value: float, _position=None) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if abs(value) >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def pledged_vs_received(by_donor_type: list[dict], *, labels: dict[str, str], rtl: bool) -> str:
    """Horizontal bars per donor type with money: pledged and received."""
    rows = [row for row in by_donor_type if Decimal(row["pledged"]) or Decimal(row["received"])]
    with matplotlib.rc_context({"font.family": FONT_FAMILY, "font.size": 9}):
        figure = Figure(figsize=(7, 0.5 + 0.45 * max(len(rows), 1)))
        axes = _axes(figure, rtl)
        names = [str(DONOR_TYPE_LABELS[row["type"]]) for row in rows]
        positions = list(range(len(rows)))
        pledged = [float(row["pledged"]) for row in rows]
        received = [float(row["received"]) for row in rows]
        axes.barh([p - 0.2 for p in positions], pledged, height=0.4, color=PLEDGED_COLOUR, label=labels["pledged"])
        axes.barh([p + 0.2 for p in positions], received, height=0.4, color=RECEIVED_COLOUR, label=labels["received"])
        axes.set_yticks(positions, names)
        axes.invert_yaxis()
        if rtl:
            axes.invert_xaxis()
        axes.xaxis.set_major_formatter(FuncFormatter(_compact))
        axes.set_xlabel(labels["usd"])
        axes.legend(loc="lower left" if rtl else "lower right", frameon=False)
        return _svg_data_uri(figure)


def cumulative_received(over_time: list[dict], *, labels: dict[str, str], rtl: bool) -> str:
    """A step line of the money received, cumulated by date of receipt."""
    with matplotlib.rc_context({"font.family": FONT_FAMILY, "font.size": 9}):
        figure = Figure(figsize=(7, 2.8))
        axes = _axes(figure, rtl)
        if over_time:
            dates = [date.fromisoformat(row["date"]) for row in over_time]
            values = [float(row["cumulative"]) for row in over_time]
            axes.step(dates, values, where="post", color=RECEIVED_COLOUR)
            axes.fill_between(dates, values, step="post", color=RECEIVED_COLOUR, alpha=0.15)
            locator = AutoDateLocator()
            axes.xaxis.set_major_locator(locator)
            axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        else:
            axes.text(0.5, 0.5, labels["none"], ha="center", va="center", transform=axes.transAxes)
        if rtl:
            axes.invert_xaxis()
        axes.yaxis.set_major_formatter(FuncFormatter(_compact))
        axes.set_ylabel(labels["usd"])
        axes.set_ylim(bottom=0)
        return _svg_data_uri(figure)
