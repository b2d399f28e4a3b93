"""Print UIFSA intergovernmental forms as PDF (fpdf2): the heading block and every element, labelled.

The PDF is what a caseworker in the other jurisdiction reads, so every element of the definition is
printed, filled or not: an empty box is visibly empty, a checkbox shows ``[X]`` or ``[ ]`` and a choice
shows all its boxes. Elements follow the definition's section order; labels come from the definition,
never from code. Output is deterministic (the PDF creation date is the form's own date), so the same
form always gives the same bytes and the same EDE digest.

Core fonts print Latin-1 only; the definitions and ``check_form`` guarantee every label and value fits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from adapters.interstate.uifsa_definition import Element, FormDef, Section

FONT = "helvetica"
LABEL_WIDTH = 66.0  # mm: long enough for most labels on one line, leaving ~120 mm for the value
LINE = 4.6  # mm per text line at 8.5 pt
ROW_PADDING = 0.7  # mm above and below the text of a label/value row
ROW_NO_WIDTH = 7.0  # mm: the "#" column of a table element (the Notice refers to orders by this number)
HEADINGS_STYLE = FontFace(emphasis="BOLD", fill_color=(238, 238, 238))
UNDATED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _money(value: Decimal) -> str:
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def display(el: Element, value: Any) -> str:
    """A value as a US caseworker reads it: MM/DD/YYYY dates, $1,234.50 amounts, 123-45-6789 SSNs."""
    if value is None:
        return ""
    if el.type == "date":
        return f"{value:%m/%d/%Y}"
    if el.type == "amount":
        return _money(value)
    if el.type == "ssn":
        return f"{value[:3]}-{value[3:5]}-{value[5:]}"
    if el.type == "checkbox":
        return "Yes" if value else ""
    if el.type == "choice":
        chosen = el.choice(value)
        return chosen.label if chosen else str(value)
    return str(value)


def box(checked: bool) -> str:
    return "[X]" if checked else "[  ]"


class _FormPdf(FPDF):
    """Letter-size pages with the OMB number and form title on top and page numbers below."""

    def __init__(self, form: FormDef) -> None:
        super().__init__(orientation="portrait", unit="mm", format="letter")
        self.form = form
        self.set_margins(15, 12, 15)
        self.set_auto_page_break(auto=True, margin=16)
        self.set_title(form.title)
        self.set_subject(f"OMB No. {form.omb_number}, version {form.form_version}")
        self.set_creator("csgate")

    def header(self) -> None:
        self.set_font(FONT, "", 7)
        self.set_text_color(90)
        self.cell(0, 4, f"OMB No. {self.form.omb_number}", new_x=XPos.LMARGIN, new_y=YPos.TOP)
        self.cell(
            0,
            4,
            f"{self.form.title} (version {self.form.form_version})",
            align="R",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.ln(2)
        self.set_text_color(0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(90)
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0)


def _title(pdf: _FormPdf, form: FormDef) -> None:
    pdf.set_font(FONT, "B", 13)
    _block(pdf, form.title.upper(), 6, "C")
    pdf.set_font(FONT, "I", 7.5)
    for line in form.legend:
        _block(pdf, line, 3.6, "C")
    pdf.ln(2)


def _section_bar(pdf: _FormPdf, section: Section) -> None:
    if pdf.will_page_break(20):  # keep a section title with its first lines
        pdf.add_page()
    pdf.ln(1.5)
    pdf.set_font(FONT, "B", 9.5)
    pdf.set_fill_color(220, 220, 220)
    pdf.cell(0, 6, f" {section.title}", fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_fill_color(255)  # tables below fill with the current colour: keep their cells white
    if section.note:
        pdf.set_font(FONT, "I", 8)
        _block(pdf, section.note, 4)
    pdf.ln(0.8)


def _width(pdf: _FormPdf, text: str) -> float:
    """Printed width of ``text`` in mm, straight from the current font's glyph widths: the figure
    ``get_string_width`` gives, which costs a thousand times more per call."""
    font = pdf.current_font
    assert font is not None, "a font is always set before text is measured"
    return font.get_text_width(text, pdf.font_size_pt, None)[1] / pdf.k


def _fit(pdf: _FormPdf, word: str, room: float) -> list[str]:
    """A word too wide for the column (an e-mail address, a long identifier), cut where it must be."""
    pieces: list[str] = []
    while _width(pdf, word) > room and len(word) > 1:
        cut = len(word) - 1
        while cut > 1 and _width(pdf, word[:cut]) > room:
            cut -= 1
        pieces.append(word[:cut])
        word = word[cut:]
    return [*pieces, word]


def _lines(pdf: _FormPdf, text: str, width: float) -> list[str]:
    """``text`` word-wrapped to ``width`` (less the cell margins), keeping its own line breaks.

    Done here from glyph widths rather than by fpdf2's ``multi_cell``, which measures character by
    character and made a form take ten times as long to print."""
    room = width - 2 * pdf.c_margin
    out: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in (w for chunk in paragraph.split(" ") for w in _fit(pdf, chunk, room)):
            candidate = f"{line} {word}" if line else word
            if line and _width(pdf, candidate) > room:
                out.append(line)
                line = word
            else:
                line = candidate
        out.append(line)
    return out


def _block(pdf: _FormPdf, text: str, height: float = LINE, align: str = "L") -> None:
    """Full-width wrapped text, one ``cell`` per line."""
    for line in _lines(pdf, text, pdf.epw):
        pdf.cell(0, height, line, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _pairs(pdf: _FormPdf, rows: Sequence[tuple[str, str]], lines: int = 1) -> None:
    """Label/value rows with a rule under each: wraps long values and keeps a row on one page. A box
    meant for several lines of text is printed that tall even when empty, so it reads as a box to fill."""
    pdf.set_font(FONT, "", 8.5)
    pdf.set_draw_color(190)
    value_width = pdf.epw - LABEL_WIDTH
    for label, value in rows:
        label_lines, value_lines = _lines(pdf, label, LABEL_WIDTH), _lines(pdf, value, value_width)
        height = max(len(label_lines), len(value_lines), lines) * LINE + 2 * ROW_PADDING
        if pdf.will_page_break(height):
            pdf.add_page()
        x, y = pdf.l_margin, pdf.get_y()
        for column_x, width, texts, grey in (
            (x, LABEL_WIDTH, label_lines, 70),
            (x + LABEL_WIDTH, value_width, value_lines, 0),
        ):
            pdf.set_text_color(grey)
            for n, text in enumerate(texts):
                pdf.set_xy(column_x, y + ROW_PADDING + n * LINE)
                pdf.cell(width, LINE, text)
        pdf.line(x, y + height, x + pdf.epw, y + height)
        pdf.set_xy(x, y + height)
    pdf.set_text_color(0)
    pdf.set_draw_color(0)


def _checkbox(pdf: _FormPdf, el: Element, value: Any) -> None:
    pdf.set_font(FONT, "", 8.5)
    _block(pdf, f"{box(value is True)}  {el.label}")


def _choice(pdf: _FormPdf, el: Element, value: Any) -> None:
    pdf.set_font(FONT, "", 8.5)
    boxes = "    ".join(f"{box(c.code == value)} {c.label}" for c in el.choices)
    _block(pdf, f"{el.label}:    {boxes}")


def _table(pdf: _FormPdf, el: Element, rows: Sequence[Mapping[str, Any]]) -> None:
    pdf.set_font(FONT, "B", 8.5)
    _block(pdf, f"{el.label}:")
    pdf.set_font(FONT, "", 8)
    pdf.set_draw_color(160)
    column = (pdf.epw - ROW_NO_WIDTH) / len(el.columns)
    with pdf.table(
        col_widths=(ROW_NO_WIDTH, *(column for _ in el.columns)),
        headings_style=HEADINGS_STYLE,
        borders_layout="ALL",
        text_align="LEFT",
        line_height=4.2,
        padding=(0.6, 1),
    ) as table:
        heading = table.row()
        heading.cell("#")
        for col in el.columns:
            heading.cell(col.label)
        for n, values in enumerate(rows or [{}], start=1):
            row = table.row()
            row.cell(str(n) if values else "")
            for col in el.columns:
                row.cell(display(col, values.get(col.name)))
    pdf.set_draw_color(0)
    pdf.ln(1)


def _runs(section: Section) -> Iterator[tuple[str, list[Element]]]:
    """Elements in print order, consecutive one-line label/value elements grouped into one run."""
    run: list[Element] = []
    for el in section.elements:
        if el.type in ("checkbox", "choice", "table") or el.lines > 1:
            if run:
                yield "pairs", run
                run = []
            yield el.type, [el]
        else:
            run.append(el)
    if run:
        yield "pairs", run


def _form(pdf: _FormPdf, form: FormDef, data: Mapping[str, Any]) -> None:
    _title(pdf, form)
    for section in form.sections:
        _section_bar(pdf, section)
        values = data.get(section.id, {})
        for kind, elements in _runs(section):
            if kind in ("pairs", "text"):
                _pairs(pdf, [(e.label, display(e, values.get(e.name))) for e in elements], elements[0].lines)
            elif kind == "checkbox":
                _checkbox(pdf, elements[0], values.get(elements[0].name))
            elif kind == "choice":
                _choice(pdf, elements[0], values.get(elements[0].name))
            else:
                _table(pdf, elements[0], values.get(elements[0].name) or [])


def render_pdf(form: FormDef, forms: Sequence[Mapping[str, Any]]) -> bytes:
    """One PDF holding each checked form's data, each form starting on a new page."""
    pdf = _FormPdf(form)
    dated = next((f["document"]["date"] for f in forms if "date" in f.get("document", {})), None)
    pdf.set_creation_date(
        dt.datetime.combine(dated, dt.time(), tzinfo=dt.UTC) if isinstance(dated, dt.date) else UNDATED
    )
    for data in forms:
        pdf.add_page()
        _form(pdf, form, data)
    return bytes(pdf.output())
