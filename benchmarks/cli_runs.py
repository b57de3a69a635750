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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def isolated_env(base: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(ROOT), HOME=str(base / "home"), EDGETRT_CACHE=str(base / "cache"),
               EDGETRT_RESULTS=str(base / "results"), XDG_CONFIG_HOME=str(base / "config"))
    (base / "home").mkdir(parents=True, exist_ok=True)
    return env


def run_json(args: list[str], env: dict, timeout: float = 3600) -> tuple[float, dict]:
    """(wall seconds of `python -m edgetrt ARGS`, its --json document); a failed run raises."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout)
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
