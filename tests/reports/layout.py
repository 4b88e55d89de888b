"""What a print designer checks on every page of a report PDF, as functions
the layout tests share: nothing outside
the printable area, no table row split over two pages, no heading left
alone at the foot of a page.

Two views of the same pages: WeasyPrint's layout boxes (which element
landed on which page) and, through pdfplumber, the PDF as written (where
each character, rule and image ended up)."""

import io
from dataclasses import dataclass

import pdfplumber
from weasyprint.formatting_structure import boxes

MM = 72 / 25.4  # PDF points per millimetre
# The stylesheet's @page margins (top, right, bottom, left), in mm.
PAGE_MARGINS_MM = (18, 16, 20, 16)
# What printers cannot print: the outermost 5 mm. The footer lives in the
# bottom margin, inside this.
UNPRINTABLE_MM = 5
TOLERANCE = 1.0  # points: rules and backgrounds sit on the content edge
HEADINGS = {"h1", "h2", "h3", "h4"}


@dataclass(frozen=True)
class Problem:
    page: int  # 1-based
    what: str

    def __str__(self) -> str:
        return f"page {self.page}: {self.what}"


def _walk(box, ancestors: tuple = ()):
    """Every box under `box` in document order, with its ancestors."""
    yield box, ancestors
    if isinstance(box, boxes.ParentBox):
        for child in box.children:
            yield from _walk(child, (*ancestors, box))


def _tag(box) -> str:
    return getattr(box, "element_tag", "") or ""


def layout_problems(document) -> list[Problem]:
    """Split rows, headings that end a page and continued tables without
    their header row, from WeasyPrint's boxes."""
    problems = []
    table_pages: dict[int, int] = {}  # table element -> first page
    row_pages: dict[int, list[int]] = {}
    row_text: dict[int, str] = {}
    for number, page in enumerate(document.pages, 1):
        last_leaf = None
        for box, ancestors in _walk(page._page_box):
            if any(isinstance(a, boxes.MarginBox) for a in ancestors) or isinstance(box, boxes.MarginBox):
                continue
            if isinstance(box, boxes.TableBox) and any(str(c.tag).endswith("thead") for c in box.element):
                first = table_pages.setdefault(id(box.element), number)
                repeated = any(getattr(child, "is_header", False) for child in box.children)
                if first != number and not repeated:
                    problems.append(Problem(number, "a table continues without its header row"))
            if isinstance(box, boxes.TableRowBox):
                group = ancestors[-1] if ancestors else None
                if not getattr(group, "is_header", False):
                    key = id(box.element)
                    pages = row_pages.setdefault(key, [])
                    if number not in pages:
                        pages.append(number)
                    row_text.setdefault(key, " ".join(box.element.itertext())[:60])
            if isinstance(box, boxes.TextBox | boxes.ReplacedBox) and (
                not isinstance(box, boxes.TextBox) or box.text.strip()
            ):
                last_leaf = (box, ancestors)
            if isinstance(box, boxes.TextBox) and box.text.strip():
                problems.extend(_text_outside_its_cell(number, box, ancestors))
        if last_leaf is not None:
            box, ancestors = last_leaf
            heading = next((a for a in ancestors if _tag(a) in HEADINGS), None)
            if heading is not None:
                text = " ".join(heading.element.itertext()).strip()
                problems.append(Problem(number, f"the heading {text!r} ends the page"))
    for key, pages in row_pages.items():
        if len(pages) > 1:
            problems.append(Problem(pages[0], f"the table row {row_text[key]!r} is split over pages {pages}"))
    return problems


def _text_outside_its_cell(number: int, box, ancestors: tuple) -> list[Problem]:
    """Text wider than its table cell (a cell's `nowrap` number) runs into
    the next column: the two read as one figure."""
    cell = next((a for a in reversed(ancestors) if isinstance(a, boxes.TableCellBox)), None)
    if cell is None:
        return []
    left, right = cell.border_box_x(), cell.border_box_x() + cell.border_width()
    if box.position_x < left - TOLERANCE or box.position_x + box.width > right + TOLERANCE:
        return [Problem(number, f"the text {box.text.strip()!r} runs out of its table cell")]
    return []


def _objects(page):
    for kind in ("chars", "rects", "lines", "curves", "images"):
        for obj in getattr(page, kind):
            yield kind, obj


def printable_area_problems(pdf: bytes) -> list[Problem]:
    """Anything drawn outside the page's content box (the bottom margin's
    footer aside), or outside what a printer can print at all."""
    problems = []
    top, right, bottom, left = (m * MM for m in PAGE_MARGINS_MM)
    edge = UNPRINTABLE_MM * MM
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for number, page in enumerate(document.pages, 1):
            width, height = float(page.width), float(page.height)
            for kind, obj in _objects(page):
                x0, x1, y0, y1 = float(obj["x0"]), float(obj["x1"]), float(obj["top"]), float(obj["bottom"])
                if x1 - x0 <= 0 and y1 - y0 <= 0:
                    continue
                label = obj.get("text") or kind
                if x0 < edge or y0 < edge or x1 > width - edge or y1 > height - edge:
                    problems.append(Problem(number, f"{label!r} at ({x0:.0f}, {y0:.0f}) is in the unprintable edge"))
                    continue
                in_footer = y0 >= height - bottom - TOLERANCE
                if in_footer:
                    continue
                if x0 < left - TOLERANCE or x1 > width - right + TOLERANCE or y0 < top - TOLERANCE:
                    problems.append(
                        Problem(number, f"{label!r} at x {x0:.1f}-{x1:.1f}, y {y0:.1f} lies outside the text area")
                    )
    return _first_per_page(problems)


def _first_per_page(problems: list[Problem], limit: int = 5) -> list[Problem]:
    """A few problems a page: one overflowing table gives hundreds."""
    kept: dict[int, list[Problem]] = {}
    for problem in problems:
        kept.setdefault(problem.page, [])
        if len(kept[problem.page]) < limit:
            kept[problem.page].append(problem)
    return [p for page in kept.values() for p in page]


def page_texts(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [page.extract_text() or "" for page in document.pages]
