"""Bounds on names a user types or a file gives (device, model and recipe names).

A name ends up in file names, error lines, reports and terminals. 5,000 characters of it, or a
newline or an escape sequence inside it, must be one clear error, not a "File name too long"
from the OS or a garbled terminal.
"""

from __future__ import annotations

import difflib

from edgetrt.errors import ConfigError, UsageError

MAX_NAME = 128


def check_name(name: str, what: str, *, where: str | None = None, limit: int = MAX_NAME) -> str:
    """``name`` if it is 1..limit characters without control characters; else one error line.

    ``where`` (``file:line``) makes it a ConfigError naming the file, otherwise a UsageError.
    """
    error = ConfigError if where else UsageError
    prefix = f"{where}: " if where else ""
    if not isinstance(name, str) or not name:
        raise error(f"{prefix}empty {what}")
    if len(name) > limit:
        raise error(f"{prefix}{what} is {len(name)} characters long (at most {limit}): "
                    f"{name[:40]!r}...")
    if any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in name):
        raise error(f"{prefix}{what} {name!r} contains a control character")
    return name


def unknown_name(what: str, name: str, known, hint: str) -> UsageError:
    """The error for a name that is not among ``known``: "did you mean" the closest, then ``hint``."""
    guess = difflib.get_close_matches(name, list(known), n=3)
    return UsageError(f"unknown {what} {name!r}",
                      hint=(f"did you mean {', '.join(guess)}? " if guess else "") + hint)
