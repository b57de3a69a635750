"""Reading a pasted log safely: regular files or standard input only, bounded, text only.

A log past MAX_LOG_BYTES is read as its first and last parts: failures sit at the end, versions
and the command line at the start. Input that is no log at all (empty, binary, a directory, a pipe
named as a file) is one UsageError with the next step.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from edgetrt.errors import UsageError

MAX_LOG_BYTES = 16 << 20
LOG_HEAD_BYTES = 4 << 20
BINARY_SNIFF_BYTES = 8192
ENGINE_MAGICS = (b"ptrt", b"ftrt", b"vtrt")


def read_log(file: str) -> tuple[str, dict]:
    """(the log's text, how much of it was read); UsageError for input that is no log at all.

    ``file`` is a path, or "-" for standard input."""
    if file == "-":
        where = "standard input"
        stream = getattr(sys.stdin, "buffer", None)
        data = stream.read() if stream is not None else sys.stdin.read().encode("utf-8", "surrogateescape")
        size = len(data)
        if size > MAX_LOG_BYTES:
            data = data[:LOG_HEAD_BYTES] + b"\n" + data[-(MAX_LOG_BYTES - LOG_HEAD_BYTES):]
    else:
        where = file
        data, size = read_log_file(Path(file))
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        hint = ("it is a TensorRT engine: use `edgetrt doctor engine FILE`" if data[:4] in ENGINE_MAGICS
                else "pass the text output of the failing command (stdout and stderr)")
        raise UsageError(f"{where}: binary data, not a text log", hint=hint)
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise UsageError(f"{where}: the log is empty", hint="paste the error output, or pass the file that holds it")
    read = "whole" if size <= MAX_LOG_BYTES else (
        f"the first {LOG_HEAD_BYTES >> 20} MiB and the last {(MAX_LOG_BYTES - LOG_HEAD_BYTES) >> 20} MiB")
    return text, {"bytes": size, "read": read}


def read_log_file(log_path: Path) -> tuple[bytes, int]:
    try:
        status = os.stat(log_path)
        if stat.S_ISDIR(status.st_mode):
            raise UsageError(f"{log_path}: is a directory, not a log file")
        if not stat.S_ISREG(status.st_mode):
            raise UsageError(f"{log_path}: not a regular file (a pipe or device)",
                             hint="to classify a stream, pipe it in: COMMAND 2>&1 | edgetrt doctor log -")
        with log_path.open("rb") as log_file:
            if status.st_size <= MAX_LOG_BYTES:
                return log_file.read(), status.st_size
            head = log_file.read(LOG_HEAD_BYTES)
            log_file.seek(-(MAX_LOG_BYTES - LOG_HEAD_BYTES), os.SEEK_END)
            return head + b"\n" + log_file.read(), status.st_size
    except FileNotFoundError:
        raise UsageError(f"{log_path}: no such log file") from None
    except OSError as error:
        raise UsageError(f"{log_path}: cannot read: {error.strerror}") from None


