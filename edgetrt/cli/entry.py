"""The console script's entry: a help replayed from the cache while nothing it was made from has
changed, else the typer app (edgetrt.cli.app.main), exactly as before.

Importing typer alone costs ~5 times `python -c pass`, and the text a help prints is the same from
one run to the next unless something it is made from changes. So the first `edgetrt [WORD ...]
--help` (or a bare `edgetrt`) runs typer as always, with its stdout and stderr captured and then
written out, and keeps a record in <cache>/help/ (one file per argv and terminal width): the bytes
it wrote to each stream, and what they were made from —

- the key: the exact argv (and argv[0]), the terminal's width, each stream's encoding, error
  handler and whether it is a terminal, Python's version, executable, flags and sys.path, and
  the environment variables the interpreter reads itself (PYTHON*, LANG, LANGUAGE, LC_*);
- every other environment variable the run read, with its value or its absence (os.environ
  records its reads while the run lasts);
- every file and directory the run opened or listed (Python's audit events: modules, bytecode,
  the directories imports searched), every loaded module's file and directory and every sys.path
  entry, each with its size, mtime, ctime, inode and device (or its absence).

A later run with the same argv replays the record only when the key is equal, every variable has
its value and every file and directory stats as recorded: an edited CLI module, another typer,
another width or a set NO_COLOR runs typer again and records anew. Anything else — another flag,
a run that did not exit 0, a record that cannot be read or parsed, a cache that cannot be
written — takes the normal way; a record is written to a temporary file and renamed into place.

Only modules the interpreter has loaded before any code runs (os, sys, io, marshal) are used here,
and edgetrt.config.homes for the cache's place.
"""

import io
import marshal
import os
import sys

from edgetrt.config.homes import HELP_PART, cache_home_dir, save_record

#: bumped when a record's layout changes (an older record then simply fails to match)
RECORD_FORMAT = 1
#: environment variables read by the interpreter itself, before any Python code could record them
INTERPRETER_ENV = ("PYTHON", "LANG", "LC_")
#: at most this many words before --help (`edgetrt doctor engine --help` has two)
MAX_WORDS = 4
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def main():
    argv = sys.argv[1:]
    if not help_shaped(argv) or not _has_byte_streams():
        _run_without_teardown()
        return
    key = help_key(argv)
    path = os.path.join(cache_home_dir(), HELP_PART, record_name(argv))
    replay = read_record(path, key)
    if replay is not None:
        out, err = replay
        _write_out(out, err)
        sys.exit(0)
    _run_and_record(path, key)


def help_shaped(argv):
    """A bare `edgetrt`, or words (command names, arguments) followed by --help: what prints a help
    and runs nothing (click handles --help before any command is invoked)."""
    if not argv:
        return True
    words = argv[:-1]
    return argv[-1] == "--help" and len(words) <= MAX_WORDS and all(_is_word(w) for w in words)


def _is_word(word):
    """Letters, digits, '_', '.' and '-' (a model file such as my-model.h5), not starting with '-'
    (a flag) or '.'; never '/' or '+', which the record's file name could not hold."""
    return bool(word) and word[0] not in "-." and not set(word) - _WORD_CHARS


def record_name(argv):
    """The record's file name: the argv joined by '+' (words hold no '+') and the width."""
    columns = os.environ.get("COLUMNS", "")
    width = columns if columns.isdigit() else str(_terminal_columns() or "-")
    return "+".join(["edgetrt"] + argv) + "@" + width


def help_key(argv):
    """What the record must match before anything else is compared (see the module's docstring)."""
    interpreter_env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(INTERPRETER_ENV)))
    return (RECORD_FORMAT, tuple(sys.argv[:1]) + tuple(argv), _terminal_columns(),
            _stream_facts(sys.stdout), _stream_facts(sys.stderr),
            sys.version, sys.executable, tuple(sys.flags), tuple(sys.path), interpreter_env)


def read_record(path, key):
    """(stdout bytes, stderr bytes) of a record that still holds for ``key``, else None.

    The record is marshal data in the user's own cache directory, trusted as Python trusts the
    bytecode in __pycache__ (also marshal data); anything malformed is no record."""
    try:
        with open(path, "rb") as fh:
            record = marshal.loads(fh.read())
        fmt, stored_key, env, env_all, deps, out, err = record
        if fmt != RECORD_FORMAT or stored_key != key or type(out) is not bytes or type(err) is not bytes:
            return None
        environ = os.environ
        for name, value in env:
            if environ.get(name) != value:
                return None
        if env_all and len(environ) != sum(1 for _, value in env if value is not None):
            return None
        for file, signature in deps:
            if _signature(file) != signature:
                return None
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return out, err


def _run_and_record(path, key):
    """Run the typer app with its output captured, write the output out, and keep the record when
    it exited 0."""
    touched = set()
    recording = [True]

    def on_audit(event, args):
        # An exception raised here would fail the audited operation itself: never let one out.
        if not recording[0] or event not in ("open", "os.listdir", "os.scandir"):
            return
        try:
            target = args[0] if args and args[0] is not None else "."
            if isinstance(target, (str, bytes)):
                touched.add(os.path.abspath(os.fsdecode(target)))
        except Exception:  # noqa: BLE001 - see above
            pass

    sys.addaudithook(on_audit)  # cannot be removed; `recording` turns it off after the run
    initial_env = dict(os.environ)
    env_reads, env_all = _record_environ_reads()
    real_out, real_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _capture_like(real_out), _capture_like(real_err)
    try:
        try:
            _run_app()
            code = 0
        except SystemExit as done:
            code = done.code
    finally:
        recording[0] = False
        os.environ.__class__ = env_reads.restore
        captured = []
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
            captured.append(stream.buffer.getvalue())
        sys.stdout, sys.stderr = real_out, real_err
        _write_out(*captured)
    if code in (0, None):
        env = tuple(sorted((name, initial_env.get(name)) for name in
                           (set(initial_env) if env_all[0] else set()) | set(env_reads.names)))
        modules = [m.__file__ for m in list(sys.modules.values())
                   if isinstance(getattr(m, "__file__", None), str)]
        files = touched | {os.path.abspath(f) for f in modules}
        files |= {os.path.dirname(f) for f in files} | {os.path.abspath(p or ".") for p in sys.path}
        help_dir = os.path.dirname(path)
        deps = tuple((f, _signature(f)) for f in sorted(files) if not f.startswith(help_dir + os.sep))
        save_record(path, (RECORD_FORMAT, key, env, env_all[0], deps, captured[0], captured[1]))
    sys.exit(code)


def _record_environ_reads():
    """os.environ, until restored, notes the name of every variable read and whether it was read
    whole (iterated: copy(), items(), dict(os.environ)). Its class is swapped, not the object, so
    modules holding `from os import environ` are seen too."""
    names = set()
    whole = [False]
    base = type(os.environ)

    class RecordedEnviron(base):
        def __getitem__(self, key):
            if isinstance(key, str):  # os.get_exec_path tries environ[b"PATH"] too, which fails
                names.add(key)
            return base.__getitem__(self, key)

        def __iter__(self):
            whole[0] = True
            return base.__iter__(self)

    RecordedEnviron.names = names
    RecordedEnviron.restore = base
    os.environ.__class__ = RecordedEnviron
    return RecordedEnviron, whole


def _signature(path):
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _terminal_columns():
    """The terminal's own width, as shutil.get_terminal_size asks it (COLUMNS and LINES, which
    that function reads first, are recorded as environment reads)."""
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return None


def _stream_facts(stream):
    return (stream.encoding, stream.errors, stream.isatty())


def _has_byte_streams():
    try:
        for stream in (sys.stdout, sys.stderr):
            stream.buffer.fileno()
            _stream_facts(stream)
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return False
    return True


class _Capture(io.BytesIO):
    """Bytes kept instead of written, for a stream that says it is a terminal when the real one is
    (click decides on colours by asking)."""

    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


def _capture_like(stream):
    return io.TextIOWrapper(_Capture(stream.isatty()), encoding=stream.encoding, errors=stream.errors)


def _write_out(out, err):
    for stream, data in ((sys.stdout, out), (sys.stderr, err)):
        if data:
            stream.flush()
            stream.buffer.write(data)
            stream.buffer.flush()


def _run_without_teardown():
    """The typer app; once it exited with a status and every exit handler registered during it ran
    (threads joined, logging flushed, temporary directories removed), the process ends without
    the interpreter's teardown of its ~300 modules (20-40 ms after a deploy here), which writes
    nothing: os._exit with that status, stdout and stderr flushed first. Not when an exit handler
    was registered before this point (a coverage or profiling hook from site): it would be
    skipped, so the exit is Python's own."""
    import atexit

    status = []
    count = getattr(atexit, "_ncallbacks", None)
    if count is not None and count() == 0:

        def end_now():
            if status:
                for stream in (sys.stdout, sys.stderr):
                    try:
                        stream.flush()
                    except (AttributeError, OSError, ValueError):
                        pass
                os._exit(status[0])

        atexit.register(end_now)  # the first, so it runs after every later one
    try:
        _run_app()
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            status.append(done.code or 0)
        raise


def _run_app():
    from edgetrt.cli.app import main as app_main

    app_main()
