"""The console script's help fast path (edgetrt/cli/entry.py): a help replayed from its record is
byte for byte what typer prints, and any change to what it was made from runs typer again.

Each run is a real interpreter, started the way the console script starts edgetrt; whether typer
ran is read from the modules the process had loaded when it ended. The CLI's own source is
changed on a copy of the package, never on this tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgetrt.cli.entry import help_shaped

REPO = Path(__file__).resolve().parents[2]

#: the console script's way in (entry.main), or typer's own rendering (app.main, no cache at all)
_RUN = """
import sys
out = sys.argv.pop(1)
sys.argv[0] = "edgetrt"
try:
    from edgetrt.cli.{module} import main
    main()
finally:
    with open(out, "w") as fh:
        fh.write("\\n".join(sorted(sys.modules)))
"""

HELPS = [["--help"], ["deploy", "--help"], ["doctor", "--help"], ["doctor", "engine", "--help"],
         ["bench", "--help"], ["deploy", "my-model.h5", "--help"], []]


class Run:
    def __init__(self, proc: subprocess.CompletedProcess, modules: set[str]):
        self.code, self.out, self.err, self.modules = proc.returncode, proc.stdout, proc.stderr, modules

    @property
    def replayed(self) -> bool:
        return "typer" not in self.modules

    def shown(self) -> tuple[int, bytes, bytes]:
        return self.code, self.out, self.err


def run(tmp_path: Path, argv: list[str], *, cache: Path, module: str = "entry", package_root: Path = REPO,
        **env) -> Run:
    out = tmp_path / "modules.txt"
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "TYPER_USE_RICH")}
    environ.update(PYTHONPATH=str(package_root), EDGETRT_CACHE=str(cache), **env)
    # sys.path[0] of `python -c` is the working directory, which a record lists: one nothing writes to
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", _RUN.format(module=module), str(out), *argv],
                          capture_output=True, env=environ, cwd=cwd, timeout=120)
    return Run(proc, set(out.read_text().split("\n")))


def records(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "help").iterdir()) if (cache / "help").is_dir() else []


@pytest.mark.parametrize("argv", HELPS, ids=lambda a: " ".join(a) or "(no arguments)")
def test_a_replayed_help_is_byte_for_byte_what_typer_prints(tmp_path, argv):
    cache = tmp_path / "cache"
    typer_own = run(tmp_path, argv, cache=cache, module="app")
    assert typer_own.code == 0 and b"Usage: edgetrt" in typer_own.out + typer_own.err
    assert records(cache) == []  # app.main is typer's own: no cache on that way

    first, second = run(tmp_path, argv, cache=cache), run(tmp_path, argv, cache=cache)
    assert not first.replayed and second.replayed
    assert first.shown() == typer_own.shown()
    assert second.shown() == typer_own.shown()
    assert len(records(cache)) == 1


def test_a_replay_imports_nothing_but_the_entry(tmp_path):
    cache = tmp_path / "cache"
    run(tmp_path, ["deploy", "--help"], cache=cache)
    bare = subprocess.run([sys.executable, "-c", "import sys; print('\\n'.join(sys.modules))"], capture_output=True,
                          text=True, cwd=tmp_path / "cwd", env=dict(os.environ, PYTHONPATH=str(REPO))).stdout.split()
    replay = run(tmp_path, ["deploy", "--help"], cache=cache)
    assert replay.replayed
    assert sorted(replay.modules - set(bare)) == ["edgetrt", "edgetrt.cli", "edgetrt.cli.entry", "edgetrt.config",
                                                  "edgetrt.config.homes"]


def test_another_width_is_another_record_each_as_typer_prints_it(tmp_path):
    cache = tmp_path / "cache"
    shown = {}
    for columns in ("60", "120", "60", "120"):
        got = run(tmp_path, ["deploy", "--help"], cache=cache, COLUMNS=columns)
        assert got.shown() == run(tmp_path, ["deploy", "--help"], cache=cache, module="app", COLUMNS=columns).shown()
        shown.setdefault(columns, []).append(got.replayed)
    assert shown == {"60": [False, True], "120": [False, True]}
    assert len(records(cache)) == 2
    wide = run(tmp_path, ["deploy", "--help"], cache=cache, COLUMNS="120").out
    narrow = run(tmp_path, ["deploy", "--help"], cache=cache, COLUMNS="60").out
    assert max(map(len, narrow.splitlines())) <= 60 < max(map(len, wide.splitlines()))


def test_a_variable_typer_reads_is_part_of_the_record(tmp_path):
    """TYPER_USE_RICH is read by typer itself, named nowhere in edgetrt: recorded as read (unset)."""
    cache = tmp_path / "cache"
    assert not run(tmp_path, ["--help"], cache=cache).replayed
    assert run(tmp_path, ["--help"], cache=cache).replayed
    assert not run(tmp_path, ["--help"], cache=cache, TYPER_USE_RICH="0").replayed
    assert run(tmp_path, ["--help"], cache=cache, TYPER_USE_RICH="0").replayed
    assert run(tmp_path, ["--help"], cache=cache, TYPER_USE_RICH="0", UNRELATED_VARIABLE="1").replayed


def test_a_changed_cli_module_is_rendered_again(tmp_path):
    package_root = tmp_path / "tree"
    shutil.copytree(REPO / "edgetrt", package_root / "edgetrt", ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    assert not run(tmp_path, ["--help"], cache=cache, package_root=package_root).replayed
    assert run(tmp_path, ["--help"], cache=cache, package_root=package_root).replayed

    app = package_root / "edgetrt" / "cli" / "app.py"
    app.write_text(app.read_text().replace("Convert a TensorFlow model on this host", "Convert a model HERE"))
    changed = run(tmp_path, ["--help"], cache=cache, package_root=package_root)
    assert not changed.replayed and b"Convert a model HERE" in changed.out
    again = run(tmp_path, ["--help"], cache=cache, package_root=package_root)
    assert again.replayed and again.out == changed.out

    options = package_root / "edgetrt" / "cli" / "options.py"  # the same bytes, written again
    options.write_bytes(options.read_bytes())
    assert not run(tmp_path, ["--help"], cache=cache, package_root=package_root).replayed


@pytest.mark.parametrize("damage", [b"", b"not marshal at all", b"\xe3\x00\x00", None],
                         ids=["empty", "garbage", "truncated", "other-layout"])
def test_a_corrupt_record_is_no_record(tmp_path, damage):
    import marshal

    cache = tmp_path / "cache"
    typer_own = run(tmp_path, ["deploy", "--help"], cache=cache, module="app")
    run(tmp_path, ["deploy", "--help"], cache=cache)
    [name] = records(cache)
    record = cache / "help" / name
    record.write_bytes(damage if damage is not None else marshal.dumps((1, "a", "record", "of", "another", "kind")))
    got = run(tmp_path, ["deploy", "--help"], cache=cache)
    assert not got.replayed and got.shown() == typer_own.shown()
    assert run(tmp_path, ["deploy", "--help"], cache=cache).replayed  # written anew


def test_a_cache_that_cannot_be_written_only_costs_the_replay(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache's parent is a file: no directory can be made under it\n")
    cache = blocker / "cache"
    typer_own = run(tmp_path, ["--help"], cache=cache, module="app")
    for _ in range(2):
        got = run(tmp_path, ["--help"], cache=cache)
        assert not got.replayed and got.shown() == typer_own.shown()


def test_only_a_help_that_exits_0_is_recorded(tmp_path):
    cache = tmp_path / "cache"
    for _ in range(2):
        wrong = run(tmp_path, ["nosuchcommand", "--help"], cache=cache)
        assert not wrong.replayed and wrong.code == 2 and b"No such command" in wrong.err
    assert records(cache) == []


def test_anything_but_a_help_goes_the_normal_way(tmp_path):
    cache = tmp_path / "cache"
    version = run(tmp_path, ["--version"], cache=cache)
    assert version.code == 0 and version.out.startswith(b"edgetrt ") and not version.replayed
    assert run(tmp_path, ["models", "--json"], cache=cache).code == 0
    assert records(cache) == []


@pytest.mark.parametrize("argv, shaped", [
    ([], True), (["--help"], True), (["deploy", "--help"], True), (["doctor", "engine", "--help"], True),
    (["deploy", "mobilenet_v1_0.25_128", "--help"], True), (["deploy", "my-model.h5", "--help"], True),
    (["deploy"], False), (["--help", "deploy"], False), (["deploy", "--json", "--help"], False),
    (["deploy", "-d", "--help"], False), (["deploy", "models/m.h5", "--help"], False),
    (["deploy", "a+b", "--help"], False), (["deploy", ".hidden", "--help"], False), (["--version"], False),
    (["a", "b", "c", "d", "e", "--help"], False), (["deploy", "", "--help"], False),
])
def test_which_argv_may_be_replayed(argv, shaped):
    assert help_shaped(argv) is shaped
