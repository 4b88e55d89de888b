"""Charts that say something at any amount of data, and pages whose words
read right in either direction."""

import base64
from datetime import date
from decimal import Decimal

from matplotlib.colors import to_rgb

from reports import charts, render
from reports.formatting import text_direction

LABELS = {"pledged": "Pledged", "received": "Received", "usd": "US dollars", "goal": "Goal"}
EMPTY_TYPES = [{"type": t, "pledged": "0.00", "received": "0.00"} for t in ("member_state", "foundation")]


def svg(uri: str) -> str:
    return base64.b64decode(uri.split(",", 1)[1]).decode()


def over_time(**kwargs):
    defaults = {
        "start": date(2012, 4, 1),
        "end": date(2012, 6, 30),
        "goal": Decimal("10000000.00"),
        "labels": LABELS,
        "language": "en",
        "rtl": False,
    }
    return charts.cumulative_against_goal(**{**defaults, **kwargs})


def test_a_chart_with_nothing_to_show_is_not_drawn():
    assert charts.pledged_vs_received(EMPTY_TYPES, labels=LABELS, language="en", rtl=False) is None
    assert over_time(pledged=[], received=[]) is None


def test_money_received_on_a_single_day_still_makes_a_chart_over_the_whole_period():
    received = [{"date": "2012-05-15", "received": "500.00", "cumulative": "500.00"}]

    chart = over_time(pledged=received, received=received)

    assert chart is not None
    drawn = svg(chart)
    assert drawn.count("<path") > 10  # axes, ticks, the series and their legend


def test_money_before_the_period_is_carried_into_it():
    before = [{"date": "2011-12-01", "received": "500.00", "cumulative": "500.00"}]
    dates, values = charts._step_series(before, date(2012, 1, 1), date(2012, 3, 31))

    assert dates[0] == date(2012, 1, 1) and values == [500.0, 500.0]
    assert over_time(pledged=before, received=before, start=date(2012, 1, 1), end=date(2012, 3, 31)) is not None


def test_ticks_follow_the_span():
    assert charts._date_ticks(date(2012, 4, 3), date(2014, 12, 31))[1] == "yMMM"  # half years
    assert charts._date_ticks(date(2012, 1, 1), date(2016, 12, 31))[1] == "y"
    assert charts._date_ticks(date(2012, 4, 1), date(2012, 4, 30))[1] == "MMMd"


def test_the_two_series_are_told_apart_in_greyscale():
    def grey(colour: str) -> float:
        """The grey a printer turns the colour into (Rec. 601 luma)."""
        red, green, blue = to_rgb(colour)
        return 0.299 * red + 0.587 * green + 0.114 * blue

    assert abs(grey(charts.PLEDGED_COLOUR) - grey(charts.RECEIVED_COLOUR)) > 0.4


def test_the_same_figures_draw_the_same_svg():
    rows = [{"type": "member_state", "pledged": "1000.00", "received": "400.00"}]
    first = charts.pledged_vs_received(rows, labels=LABELS, language="ar", rtl=True)
    assert first == charts.pledged_vs_received(rows, labels=LABELS, language="ar", rtl=True)


def test_english_titles_on_an_arabic_page_are_isolated_and_set_left_to_right():
    assert text_direction("Panel I: Protecting the Victims") == "ltr"
    assert text_direction("الجلسة الأولى") == "rtl"
    assert text_direction("2012: الجلسة") == "rtl"  # digits are not strong
    figures = {
        "report": {
            "id": 1, "kind": "event", "campaign": "c", "campaign_title": "Campaign", "event": "e",
            "event_title": "Dialogue", "event_held_on": "2012-04-03", "period_start": None, "period_end": None,
            "as_of": "2012-04-04T00:00:00+00:00", "replaces": None, "currency": "USD", "goal": "100.00",
        },
        "headline": {"announced": "0.00", "pledged": "0.00", "received": "0.00", "outstanding": "0.00",
                     "fulfilment_rate": None, "donors": 0, "pledges": 0, "progress": 0.0, "awaiting_rate": 0},
        "period": None, "by_donor_type": [], "by_country": [],
        "sessions": [{"session": "panel-1", "title": "Panel I: Protecting", "starts_at": "2012-04-03T15:00:00+00:00",
                      "announced_then": "0.00", "still_announced": "0.00", "pledged": "0.00", "received": "0.00",
                      "pledges": 0, "turned_into_commitments": None}],
        "donors": {"named": [], "anonymous_pledges": 0, "anonymous_donors": 0},
        "received_over_time": [], "pledged_over_time": [],
    }  # fmt: skip

    page = render.render_html(figures, "ar").decode()

    assert '<th dir="ltr"><bdi>\u2068Panel I: Protecting\u2069</bdi></th>' in page
    assert 'dir="rtl"' in page.split(">", 3)[1]
    assert "Anonymous donors" not in page and "المانحون المجهولون" not in page  # none: no line saying 0
    assert "لا ينطبق" in page  # n/a, not 0.0%, for a session with nothing announced


def test_thousands_of_receipt_dates_are_drawn_as_a_few_hundred_steps_ending_on_the_true_total():
    rows = []
    total = 0
    for day in range(1000):
        total += 10
        rows.append({"date": date.fromordinal(date(2012, 1, 1).toordinal() + day).isoformat(), "cumulative": total})

    dates, values = charts._step_series(rows, date(2012, 1, 1), date(2014, 12, 31))

    assert len(dates) <= charts.MAX_STEPS + 3
    assert values[-1] == 10_000 and dates[-1] == date(2014, 12, 31)
    assert values == sorted(values)
