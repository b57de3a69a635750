"""Start-up: `edgetrt --help` (and a command's --help) against `python -c pass`, as a user runs them.

    python benchmarks/startup.py [--rounds 30]

What a user runs is the console script of an installed edgetrt, its modules compiled to bytecode
at install time. So this builds a wheel of this tree, installs it into a throwaway venv (made
from the interpreter running this script, the dependencies reached through one .pth line to that
interpreter's site-packages) and times, in turns within each round (interleave.py):

    python -c pass                  the same venv's interpreter: the floor any Python CLI pays
    python -c 'import typer'        the floor of a help typer prints
    edgetrt --help                  warm: its record in the help cache (edgetrt/cli/entry.py)
    edgetrt --help (cold)           the help cache empty: typer prints it, the record is written
    edgetrt deploy --help           warm, and cold
    edgetrt doctor engine --help    warm, and cold

with PYTHONPATH and PYTHONDONTWRITEBYTECODE removed from their environment and EDGETRT_CACHE
pointing into the throwaway directory: the warm runs share one cache, filled by an untimed run of
each; every cold run gets a cache directory of its own that does not exist yet (the first help
after installing, or after anything it was made from changed, pays the same: typer, plus the
record). Printed: each command's wall time (median, IQR, min–max), then each ratio to
`python -c pass` as the median of the per-round ratios. The issue's target: `edgetrt --help` /
`python -c pass` ≤ 3.0 — met by the warm figure; the cold one is printed beside it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_runs import clean_env as _clean_env, install  # noqa: E402
from interleave import describe, interleave, machine_line, per_round_ratios, quartiles, ratio_line  # noqa: E402

TARGET = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="rounds of all eight commands (default 30)")
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="edgetrt-startup-") as tmp:
        bin_dir = install(Path(tmp) / "venv", Path(tmp))
        warm_env = dict(_clean_env(), EDGETRT_CACHE=str(Path(tmp) / "warm-cache"))
        cold_caches = (str(Path(tmp) / f"cold-cache-{n}") for n in itertools.count())
        edgetrt = str(bin_dir / "edgetrt")
        helps = {"edgetrt --help": ["--help"], "edgetrt deploy --help": ["deploy", "--help"],
                 "edgetrt doctor engine --help": ["doctor", "engine", "--help"]}
        commands = {
            "python -c pass": [str(bin_dir / "python"), "-c", "pass"],
            # the floor of any help typer prints: typer imported, nothing else
            "python -c 'import typer'": [str(bin_dir / "python"), "-c", "import typer"],
        }
        for name, words in helps.items():
            commands[name] = [edgetrt, *words]
            commands[f"{name} (cold)"] = [edgetrt, *words]
        for argv in commands.values():  # once each, untimed: every file read once, the warm cache filled
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=warm_env)

        def run(name, argv):
            if name.endswith("(cold)"):
                return lambda: subprocess.run(argv, check=True, stdout=subprocess.DEVNULL,
                                              env=dict(warm_env, EDGETRT_CACHE=next(cold_caches))) and None
            return lambda: subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=warm_env) and None

        figures = interleave({name: run(name, argv) for name, argv in commands.items()}, args.rounds)
    print(f"installed from a wheel of {ROOT} into a throwaway venv; {args.rounds} rounds, order rotated")
    for name, values in figures.items():
        print(f"{name:36s} {describe(values, 1e3, ' ms', 1)}")
    base = figures["python -c pass"]
    for name in list(commands)[1:]:
        if name == "edgetrt --help":
            continue
        print(ratio_line(f"{name} / python -c pass", per_round_ratios(figures[name], base)))
    ratios = per_round_ratios(figures["edgetrt --help"], base)
    print(ratio_line("edgetrt --help / python -c pass", ratios, f"<= {TARGET}", quartiles(ratios)[1] <= TARGET))
    return 0


if __name__ == "__main__":
    sys.exit(main())
