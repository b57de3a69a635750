"""Figures and device text as report text: numbers, sizes, one-line fields, Markdown tables.

Device text (error messages, device names, probe values, layer names) comes from another
machine and may hold newlines, carriage returns, tabs or terminal escapes. A Markdown or CSV
field is one line of printable text, so every such string goes through ``one_line`` first: runs of
whitespace become one space and any other control character is written as an escape (``\\x1b``),
so it shows instead of acting on the terminal that prints the report.
"""

from __future__ import annotations

import re

NOT_RUN = "—"

# C0 and C1 control characters, DEL, and the Unicode line/paragraph separators that some
# renderers treat as newlines. Whitespace among them is folded first (see one_line).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_WHITESPACE = re.compile("[ \t\n\r\v\f\u2028\u2029\x85]+")


def one_line(text) -> str:
    """``text`` as one line of printable characters: whitespace runs → one space, other control
    characters → a visible ``\\xNN`` escape."""
    folded = _WHITESPACE.sub(" ", str(text)).strip()
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", folded)


def number(value, digits: int | None = None, missing: str = NOT_RUN) -> str:
    """A measured figure in as few characters as its precision needs, everywhere it is shown
    (terminal, Markdown, CSV, HTML): 3 significant digits below 100 (0.00412, 4.13, 41.3), whole
    numbers above (413, 240616), never an exponent; ``digits`` fixes the decimals instead. Anything
    that is not a number (None, a flag, text from a device) is ``missing``."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return missing
    value = float(value)
    if digits is not None:
        return f"{value:.{digits}f}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}" if magnitude else "0"


def size(nbytes) -> str:
    if nbytes is None:
        return NOT_RUN
    nbytes = float(nbytes)
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024.0
    return NOT_RUN  # pragma: no cover


def md_cell(text) -> str:
    """One Markdown table cell: one line, with the characters that would end the cell or open
    inline HTML escaped."""
    return one_line(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "\\<")


def markdown_section(heading: str, title: str, table) -> list[str]:
    """A titled Markdown table (anything with header, rows, notes) and its notes in italics."""
    return [f"{heading} {title}", markdown_table(table.header, table.rows)] + \
        [f"_{md_cell(note)}_" for note in table.notes]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |",
             "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |"]
    lines += ["| " + " | ".join(md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def csv_field(value) -> str:
    """A CSV field: floats to 6 significant digits, text on one line, None empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (bool, int)):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return one_line(value)
