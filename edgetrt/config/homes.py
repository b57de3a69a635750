"""Where edgetrt's per-user directories are, from the environment alone, and how a record is
written into the cache.

Only ``os`` (and the interpreter's own marshal): the console script's help fast path
(edgetrt/cli/entry.py) reads the cache's place before anything else is imported, pathlib
included. paths.py gives the same places as Paths.
"""

import os

#: the cache's part that holds rendered --help texts (edgetrt/cli/entry.py)
HELP_PART = "help"


def config_home_dir() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "edgetrt")


def cache_home_dir() -> str:
    explicit = os.environ.get("EDGETRT_CACHE")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "edgetrt")


def save_record(path, record):
    """``record`` marshalled into the cache file ``path``: written to a temporary file of this
    process and thread, then renamed into place, so a reader sees a whole record or none. A cache
    that cannot be written, or a value marshal cannot hold, leaves no record (the caller's next
    run does its work again). Readers treat any error of marshal.loads as no record."""
    import marshal
    from _thread import get_ident

    tmp = "%s.%d.%d.tmp" % (path, os.getpid(), get_ident())
    try:
        data = marshal.dumps(record)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except (OSError, ValueError):
        pass
