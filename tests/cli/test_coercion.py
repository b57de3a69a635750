"""cli/coercion.py: a value converted without pydantic is the value typer's own coercion gives, for
every parameter of every command; anything it is not sure of is typer's, error messages included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: plain words and numbers, and what typer/pydantic may read otherwise (which must be left to it)
VALUES = ["0", "7", "-3", "-0", "007", "+5", " 5", "5 ", "1.0", "3.25", "-0.5", ".5", "5.", "1e3", "1E-2",
          "nan", "inf", "-inf", "1_000", "0x10", "abc", "", "-", "٣", "²", "1" * 18, "1" * 19, "9" * 40,
          "1.5.2", "local", "mobilenet_v2", "a,b", "--json", 10, 3.0, 2.5, True, False, ("a", "b"), ["x"], (),
          ("a", 1), Path("p")]


def all_parameters():
    """(command path, the click command, its parameter) for every parameter, help options too."""
    import typer

    from edgetrt.cli.app import COMMANDS
    from edgetrt.cli.lazy_group import LazyGroupBase, build_command, resolve

    found = []

    def visit(path, command):
        if isinstance(command, LazyGroupBase):
            for name in command.list_commands(None):
                visit(f"{path} {name}", command.commands[name])
            return
        ctx = typer.Context(command)
        for param in list(command.params) + [command.get_help_option(ctx)]:
            found.append((path, command, param))

    for name, target in COMMANDS.items():
        visit(name, build_command(name, resolve(target)))
    return found


PARAMETERS = all_parameters()


def test_every_plain_parameter_is_covered():
    from edgetrt.cli.coercion import PlainFirst

    kinds = {}
    for path, _, param in PARAMETERS:
        assert isinstance(param._runtime_param, PlainFirst), (path, param.name)
        kinds.setdefault(param.type_descriptor.annotation, []).append(param._runtime_param.convert)
    # every str, int, float and list-of-str parameter converts plainly; bools and Paths are typer's
    assert all(kinds[t] and None not in kinds[t] for t in (str, int, float))
    assert set(kinds[bool]) == {None} and set(kinds[Path]) == {None}


@pytest.mark.parametrize("path, command, param", PARAMETERS,
                         ids=[f"{p} {q.name}" for p, _, q in PARAMETERS])
def test_a_plain_value_is_the_one_typer_gives(path, command, param):
    import typer
    from typer._click.exceptions import BadParameter
    from typer._coercion import build_runtime_param

    from edgetrt.cli.coercion import UNSURE, PlainFirst

    ctx = typer.Context(command)
    plain: PlainFirst = param._runtime_param
    typers = build_runtime_param(param.type_descriptor)
    assert plain.coerce(None, param, ctx) == typers.coerce(None, param=param, ctx=ctx)
    for value in VALUES:
        mine = plain.convert(value) if plain.convert is not None else UNSURE
        if mine is UNSURE:
            continue
        try:
            theirs = typers.coerce(value, param=param, ctx=ctx)
        except BadParameter as exc:
            pytest.fail(f"{path} {param.name}: {value!r} converted to {mine!r}, typer refuses it: {exc}")
        assert (type(mine), mine) == (type(theirs), theirs), (path, param.name, value)


def run_cli(*argv):
    code = ("import sys\nsys.argv[0] = 'edgetrt'\nfrom edgetrt.cli.app import main\n"
            "try:\n    main()\nfinally:\n    print('pydantic loaded' if 'pydantic' in sys.modules else 'no pydantic', "
            "file=sys.stderr)\n")
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)


def test_a_command_that_runs_with_plain_values_imports_no_pydantic():
    proc = run_cli("deploy", "mobilenet_v2", "--device", "no-such-device", "--iterations", "5", "--duration", "1.5",
                   "--batch", "1,8", "--backend", "onnxruntime", "--json")
    assert proc.returncode == 2 and "unknown device 'no-such-device'" in proc.stderr
    assert proc.stderr.rstrip().endswith("no pydantic")


@pytest.mark.parametrize("flag, value, words", [
    ("--iterations", "abc", "Input should be a valid integer"),
    ("--duration", "fast", "Input should be a valid number"),
    ("--power-mode", "1.5", "Input should be a valid integer"),
])
def test_a_bad_value_is_still_typers_one_line_and_exit_2(flag, value, words):
    proc = run_cli("deploy", "mobilenet_v2", "--device", "local", flag, value)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()[:-1]  # the last is the probe's
    assert lines == [f"error: Invalid value for '{flag}': {words}, unable to parse string as "
                     f"{'an integer' if 'integer' in words else 'a number'}", "hint: see `edgetrt deploy --help`"]
