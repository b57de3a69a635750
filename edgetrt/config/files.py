"""Reading a configuration file that may be hostile: regular files only, never more than a cap.

A device file, a recipe, ~/.ssh/config or known_hosts is something a user (or whoever can write
to their config directory) hands us by name. A FIFO under that name would block ``open()``
forever, a link to /dev/zero would fill memory, a directory would raise IsADirectoryError deep in
a parser. Every such file is opened here, without blocking, checked to be a regular file, and read
up to a size cap; anything else is one :class:`ConfigError` line naming the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from edgetrt.errors import ConfigError

#: device files and recipes are a few hundred bytes; 1 MiB is far beyond any honest one
CONFIG_FILE_LIMIT = 1 << 20
#: known_hosts and ssh config files of real users run to thousands of lines
SSH_FILE_LIMIT = 16 << 20

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _refuse_special(path: Path, mode: int, what: str) -> None:
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{path}: {what} is {_kind(mode)}, not a regular file",
                          hint="replace it with a plain text file, or remove it")


def read_capped(path: Path | str, limit: int = CONFIG_FILE_LIMIT, what: str = "the file") -> bytes:
    """The bytes of the regular file ``path`` (links followed), refusing anything else or more."""
    path = Path(path)
    try:
        # stat first: opening a device can have effects of its own (a tape rewinds, a tty attaches)
        _refuse_special(path, os.stat(path).st_mode, what)
        # O_NONBLOCK: should a FIFO be swapped in after the stat, open() still returns at once
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        _refuse_special(path, st.st_mode, what)
        too_big = ConfigError(f"{path}: {what} is larger than {_size(limit)}",
                              hint=f"a file of this kind is small; is {path.name} the right file?")
        if st.st_size > limit:
            raise too_big
        chunks, total = [], 0
        while True:  # read to EOF, never past the cap (the file may grow while we read it)
            chunk = os.read(fd, min(1 << 16, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise too_big
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def read_text_capped(path: Path | str, limit: int = CONFIG_FILE_LIMIT, what: str = "the file") -> str:
    data = read_capped(path, limit, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: {what} is not UTF-8 text (byte 0x{data[exc.start]:02x})") from exc


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and not n % (1 << 20) else f"{n} bytes"
