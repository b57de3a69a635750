"""What `edgetrt --help` and `edgetrt COMMAND --help` import: typer's own modules and the CLI's, no more.

The allowed set is what `import typer` alone loads (typer needs it to print any help), typer's own
submodules, and the CLI modules named below. A module outside it — a stdlib module a CLI module
imports at its top, pydantic through typer's value coercion, rich, numpy, yaml, the API — fails
the test by name. Timings are benchmarks/startup.py's business, not this test's.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: the CLI modules a help may import: the app, its options, the lazy command group and its coercion, and the
#: modules whose docstrings the root help lists (bench/report, doctor)
CLI_MODULES = {"edgetrt", "edgetrt.cli", "edgetrt.cli.app", "edgetrt.cli.options", "edgetrt.cli.lazy_group",
               "edgetrt.cli.coercion",
               "edgetrt.cli.bench", "edgetrt.cli.doctor", "edgetrt.cli.preflight"}
#: never on a help path, whatever typer does: the issue's list
NEVER = ("pydantic", "pydantic_core", "rich", "numpy", "yaml", "paramiko", "tensorflow", "onnx", "onnxruntime",
         "tf2onnx", "tensorrt", "matplotlib", "edgetrt.api")

HELPS = [["--help"], ["models", "--help"], ["devices", "--help"], ["convert", "--help"], ["deploy", "--help"],
         ["check", "--help"], ["preflight", "--help"], ["bench", "--help"], ["report", "--help"],
         ["runs", "--help"], ["cache", "--help"], ["doctor", "--help"],
         ["doctor", "engine", "--help"], ["doctor", "log", "--help"], ["doctor", "device", "--help"], []]

_MODULES_AFTER = """
import sys
out = sys.argv.pop(1)
sys.argv[0] = "edgetrt"
{body}
with open(out, "w") as fh:
    fh.write("\\n".join(sorted(sys.modules)))
"""


def modules_after(tmp_path: Path, body: str, argv: list[str]) -> tuple[set[str], str]:
    out = tmp_path / "modules.txt"
    proc = subprocess.run([sys.executable, "-c", _MODULES_AFTER.format(body=body), str(out), *argv],
                          capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr
    return set(out.read_text().split("\n")), proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def typer_alone(tmp_path_factory) -> set[str]:
    return modules_after(tmp_path_factory.mktemp("typer"), "import typer", [])[0]


@pytest.mark.parametrize("argv", HELPS, ids=lambda a: " ".join(a) or "(no arguments)")
def test_help_imports_only_typer_and_the_cli(tmp_path, typer_alone, argv):
    run_main = ("from edgetrt.cli.app import main\n"
                "try:\n    main()\nexcept SystemExit as done:\n    assert done.code in (0, None), done.code\n")
    loaded, shown = modules_after(tmp_path, run_main, argv)
    assert "Usage: edgetrt" in shown
    newcomers = sorted(m for m in loaded - typer_alone - CLI_MODULES if not m.startswith("typer."))
    assert newcomers == [], f"`edgetrt {' '.join(argv)}` imports more than typer and the CLI: {newcomers}"
    never = sorted(m for m in loaded if m.split(".")[0] in NEVER or m in NEVER)
    assert never == [], f"`edgetrt {' '.join(argv)}` imports {never}"


def test_a_command_still_quiets_library_logging_when_it_runs(tmp_path):
    """The logging set-up moved off the help path (lazy_group.QuietCommand); a command that runs has it."""
    body = ("from edgetrt.cli.app import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "import logging\n"
            "assert logging.getLogger('paramiko').level == logging.CRITICAL, logging.getLogger('paramiko').level\n")
    modules_after(tmp_path, body, ["devices", "--json"])


def test_lazy_command_targets_are_cli_modules():
    """The lazy group imports by name, which tests/test_layers.py cannot read: the CLI's commands
    must still live in the CLI (and each name must resolve)."""
    from edgetrt.cli.app import COMMANDS
    from edgetrt.cli.doctor import doctor_app
    from edgetrt.cli.lazy_group import resolve

    targets = dict(COMMANDS, **{f"doctor {n}": t for n, t in doctor_app.info.cls.lazy_commands.items()})
    for name, target in targets.items():
        assert target.startswith("edgetrt.cli."), (name, target)
        assert resolve(target) is not None  # an unknown module or attribute raises here
