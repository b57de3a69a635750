"""``edgetrt report``: saved bench records → the text of one report, Markdown, CSV or HTML.

One record is a report of its own (rows = models, columns = backend × precision). Several records
— a fleet (a record per device), one device over time, or ``--compare OLD NEW`` — are one
report with the runs side by side as columns; with a comparison the changes come first.
"""

from __future__ import annotations

from edgetrt.bench import report_tables, side_by_side
from edgetrt.errors import UsageError

FORMATS = ("md", "csv", "html")


def render_report(records: list[dict], fmt: str = "md", comparison: list[dict] | None = None,
                  threshold: float = 0.10) -> str:
    """``comparison``: compare() rows of records[0] → records[1] (``--compare``)."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose md, csv or html")
    if not records:
        raise UsageError("no bench run to report", hint="give a run id, a file, 'latest' or 'previous'")
    if fmt == "html":
        from edgetrt.bench.report_html import html_report  # matplotlib: only for HTML

        return html_report(records, comparison=comparison, threshold=threshold)
    if len(records) == 1 and comparison is None:
        return report_tables.csv_text(records[0]) if fmt == "csv" else report_tables.markdown(records[0])
    if fmt == "csv":
        return side_by_side.csv_text(records, comparison)
    return side_by_side.markdown(records, comparison, threshold)
