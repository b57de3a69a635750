"""Where edgetrt's per-user directories are, from the environment alone.

Only ``os``: the console script's help fast path (edgetrt/cli/entry.py) reads the cache's place
before anything else is imported, pathlib included. paths.py gives the same places as Paths.
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
