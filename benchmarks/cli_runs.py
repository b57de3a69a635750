"""Running the edgetrt CLI from a benchmark, and reading what its report says was measured.

Every run gets the same isolated environment: a throwaway HOME (the local device's store is
~/.edgetrt), cache and results directory, this tree first on PYTHONPATH, and bytecode written
(this environment may set PYTHONDONTWRITEBYTECODE; an installed edgetrt has its .pyc files).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def isolated_env(base: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(ROOT), HOME=str(base / "home"), EDGETRT_CACHE=str(base / "cache"),
               EDGETRT_RESULTS=str(base / "results"), XDG_CONFIG_HOME=str(base / "config"))
    (base / "home").mkdir(parents=True, exist_ok=True)
    return env


def install(venv: Path, work: Path) -> Path:
    """A venv with this tree installed from a wheel, as a user has edgetrt; returns its bin
    directory. Its dependencies are the running interpreter's, reached through one .pth line to
    that interpreter's site-packages (whose own .pth files, an editable install's finder among
    them, are not run: that directory is not a site directory of the new venv)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "edgetrt_bench_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheels = work / "wheels"
    _quiet([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
            "--wheel-dir", str(wheels), str(ROOT)])
    wheel = next(wheels.glob("edgetrt-*.whl"))
    _quiet([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
            str(wheel)])
    return venv / "bin"


def _quiet(argv: list[str]) -> None:
    """Run a packaging step; its chatter (setuptools' warnings) shown only when it fails."""
    proc = subprocess.run(argv, capture_output=True, text=True, env=clean_env())
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed:\n{proc.stdout}{proc.stderr}")


def clean_env() -> dict:
    """This environment without PYTHONPATH and PYTHONDONTWRITEBYTECODE (an installed edgetrt)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run_json(args: list[str], env: dict, timeout: float = 3600, command: list[str] | None = None,
             cwd: Path = ROOT) -> tuple[float, dict]:
    """(wall seconds of `python -m edgetrt ARGS`, or of ``command`` ARGS, its --json document); a
    failed run raises. ``cwd``: the tree whose edgetrt `python -m` runs (its first sys.path entry)."""
    started = time.perf_counter()
    proc = subprocess.run([*(command or [sys.executable, "-m", "edgetrt"]), *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"edgetrt {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return wall, json.loads(proc.stdout)


def phases_s(run: dict) -> float:
    """What a cell measured, in seconds: first run (load + first inference) + warm-up + timed phase.

    The warm-up counts as the time asked for (``warmup_ms``); it ends after the iteration that
    passes it, so this is at most one inference short of the real figure (the ratio errs high)."""
    steady = run["steady"]
    return run["first_run_ms"] / 1e3 + steady["warmup_ms"] / 1e3 + steady["total_s"]


def child_s(run: dict) -> float:
    """The measuring child's life, from its start to its exit as the supervisor saw them (``wall_s``):
    the phases plus its interpreter start, imports (numpy), statistics and exit."""
    return run["wall_s"]


def print_overhead(walls: list[float], phases: list[float], children: list[float], target: float,
                   what: str = "the cell's", split: bool = False, digits: int = 3) -> None:
    """What bench_overhead.py and deploy_overhead.py print: A (wall), B (the phases) and the
    measuring children, optionally the split of the rest, then both ratios, the target's last."""
    from interleave import describe, per_round_ratios, quartiles, ratio_line

    print(f"A  wall of the run             {describe(walls, unit=' s', digits=digits)}")
    print(f"B  {what + ' phases':<27} {describe(phases, unit=' s', digits=digits)}")
    print(f"   {what + ' measuring child':<27} {describe(children, unit=' s', digits=digits)}")
    if split:
        print(f"   host and agent (A − child)  {describe([w - c for w, c in zip(walls, children)], unit=' s')}")
        print(f"   child − phases              {describe([c - p for c, p in zip(children, phases)], unit=' s')}")
    print(ratio_line("wall / measuring child", per_round_ratios(walls, children)))
    ratios = per_round_ratios(walls, phases)
    print(ratio_line("wall / phases", ratios, f"<= {target}", quartiles(ratios)[1] <= target))
