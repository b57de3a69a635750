"""Where a board's programs are (tegrastats, jetson_clocks, nvpmodel, trtexec): one rule for all."""

import os
import shutil


def find_program(name, known_paths=(), explicit=None, known_first=False):
    """The program to run, or None where it is not installed.

    ``explicit`` (a path the caller was given) wins, and only if executable. Otherwise PATH and
    the places JetPack installs it (``known_paths``), PATH first unless ``known_first``: trtexec
    lives in /usr/src/tensorrt/bin, which is on no one's PATH, and a PATH entry must not shadow it.
    """
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    known = [path for path in known_paths if os.access(path, os.X_OK) and not os.path.isdir(path)]
    on_path = shutil.which(name)
    order = known + [on_path] if known_first else [on_path] + known
    for path in order:
        if path:
            return path
    return None
