"""What the HTML report's charts share: one style per series for the whole page, the figure size
that fits a 1280 px window, matplotlib imported on demand, and its warnings kept off the terminal.

A series is what a legend names: a backend × precision × batch column of one run, or a whole run
(a device, a date) when runs stand side by side. ``SeriesStyles`` gives each key of a page its own
colour in the order the keys come, so b1 and b8 never share one; past the palette's twelve
colours the hatch (bars) and marker (points) change too, so any two series of a page differ.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

from edgetrt.errors import MissingDependencyError

# Twelve colours a reader tells apart on white (tab10 without its red, which the charts keep
# for status words of cells that did not finish, and two darker ones). Order matters: the
# first keys of a page get the most distinct.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#393b79", "#637939", "#e7ba52")
HATCHES = ("", "//", "..", "xx", "\\\\", "++", "--", "oo")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
FAILED_COLOUR = "#b00020"
# 12 in at 100 dpi: 1200 px, inside a 1280 px window less the page's margins.
DPI = 100
FIGURE_WIDTH_IN = 12.0


@dataclass(frozen=True)
class SeriesStyle:
    colour: str
    hatch: str
    marker: str


class SeriesStyles:
    """A stable style per series key: the n-th distinct key gets the n-th style, whichever chart
    asks first; asking again returns the same style."""

    def __init__(self, keys=()):
        self._styles: dict[str, SeriesStyle] = {}
        for key in keys:
            self[key]

    def __getitem__(self, key: str) -> SeriesStyle:
        if key not in self._styles:
            n = len(self._styles)
            cycle = n // len(PALETTE)
            self._styles[key] = SeriesStyle(PALETTE[n % len(PALETTE)], HATCHES[cycle % len(HATCHES)],
                                            MARKERS[cycle % len(MARKERS)])
        return self._styles[key]

    def items(self):
        return list(self._styles.items())


def install_hint() -> str:
    from edgetrt.config.paths import SOURCE_ROOT

    if (SOURCE_ROOT / "pyproject.toml").is_file():
        # A clone (the README's way): its own extra, into the environment edgetrt runs from.
        return f"install the report extra from the clone: cd {SOURCE_ROOT} && pip install -e '.[report]'"
    return "install the report extra: pip install 'edgetrt[report]'"


def require_matplotlib():
    """The matplotlib module, or a MissingDependencyError that says how to install it."""
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependencyError("matplotlib is needed for the HTML report's charts",
                                     hint=install_hint()) from exc
    return matplotlib


# matplotlib's notice while it builds its font cache (a fresh install, once): progress, not a
# fault of any chart, so the page does not list it either.
_PROGRESS_NOTICES = ("Matplotlib is building the font cache",)


class CapturedWarnings:
    """Collects what matplotlib would print while charts are drawn (its warnings and its
    logger's records), so the terminal stays clean and the page can list them instead."""

    def __init__(self):
        self.messages: list[str] = []
        self._catch = None
        self._handler = None
        self._logger = logging.getLogger("matplotlib")
        self._propagate = True

    def __enter__(self):
        self._catch = warnings.catch_warnings(record=True)
        caught = self._catch.__enter__()
        warnings.simplefilter("always")
        self._caught = caught
        messages = self.messages

        class _Keep(logging.Handler):
            def emit(self, record):
                message = record.getMessage()
                if record.levelno >= logging.WARNING and not message.startswith(_PROGRESS_NOTICES):
                    messages.append(message)

        self._handler = _Keep()
        self._propagate = self._logger.propagate
        self._logger.addHandler(self._handler)
        self._logger.propagate = False
        return self

    def __exit__(self, *exc):
        self._logger.removeHandler(self._handler)
        self._logger.propagate = self._propagate
        self.messages += [f"{w.category.__name__}: {w.message}" for w in self._caught]
        self._catch.__exit__(*exc)
        return False
