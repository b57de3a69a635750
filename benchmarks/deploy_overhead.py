"""What `edgetrt deploy` costs beyond its measurement, once the conversion is cached.

    python benchmarks/deploy_overhead.py [--rounds 7] [--backend onnxruntime] [--installed]

`edgetrt deploy mobilenet_v2 --device local --backend onnxruntime --weights random --json`: one
cell with the default measurement (200 ms warm-up, at least 10 iterations and 3 s). A first run,
not counted, converts the model and ships the agent; every later run finds both in place.

Per run, A and B come from the same run: A is its wall time (the whole CLI process, started by
this script), B what the report says was measured:

    phases   first run (load + first inference) + warm-up + timed phase    (the target's B)
    child    the measuring child's life, wall_s: the phases plus its start, imports and exit

With --installed the runs are those of the console script of a wheel of this tree in a throwaway
venv, as startup.py runs it (no editable install's finder in the start of each of the run's
Python processes: the CLI, the store's helpers, the agent, its measuring child); without it
`python -m edgetrt` from this tree, on PYTHONPATH.

and the report's own split of the rest: A − child is the host's and the agent's share (start-up,
argument parsing, probe, store check, the agent process), child − phases the measuring
process's own. Printed over the rounds (median, IQR, min–max); the target last: wall / phases
≤ 1.10.

    python benchmarks/deploy_overhead.py --against DIR [--rounds 12]

compares two trees in one run: DIR (another checkout, e.g. `git archive REV | tar -x -C DIR`)
and this one, each with its own throwaway HOME and cache, one deploy of each per round, the
order alternating. Printed per tree: the overhead (wall − phases) and wall / phases; last the
per-round ratio of the overheads, this tree / DIR.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_runs import ROOT, child_s, install, isolated_env, phases_s, print_overhead, run_json  # noqa: E402
from interleave import machine_line  # noqa: E402

TARGET = 1.10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="counted runs after the first (default 7)")
    parser.add_argument("--backend", default="onnxruntime", help="the one backend measured (default onnxruntime)")
    parser.add_argument("--model", default="mobilenet_v2")
    parser.add_argument("--installed", action="store_true",
                        help="run the console script of a wheel of this tree installed in a throwaway venv")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="another tree to compare with this one, interleaved (python -m edgetrt of each)")
    args = parser.parse_args()
    print(machine_line())
    if args.against:
        return against(args.against.resolve(), args.model, args.backend, args.rounds)
    command = ["deploy", args.model, "--device", "local", "--backend", args.backend, "--weights", "random", "--json"]
    with tempfile.TemporaryDirectory(prefix="edgetrt-deploy-overhead-") as tmp:
        env = isolated_env(Path(tmp))
        cli = None
        if args.installed:
            cli = [str(install(Path(tmp) / "venv", Path(tmp)) / "edgetrt")]
            env.pop("PYTHONPATH")  # the wheel's own package, its device files and recipes
        first_wall, _ = run_json(command, env, command=cli)
        walls, phases, children = [], [], []
        for _ in range(args.rounds):
            wall, report = run_json(command, env, command=cli)
            (run,) = report["runs"]
            assert run["status"] == "ok" and report["conversion"]["cached"] is True, run["message"]
            assert report["transfer"]["bytes_sent"] == 0
            walls.append(wall)
            phases.append(phases_s(run))
            children.append(child_s(run))
    print(f"edgetrt {' '.join(command)}" + (" (installed from a wheel)" if args.installed else " (python -m edgetrt)"))
    print(f"first run (converts, sends the agent): {first_wall:.1f} s, not counted; then {args.rounds} runs")
    print_overhead(walls, phases, children, TARGET, split=True)
    return 0


def against(other: Path, model: str, backend: str, rounds: int) -> int:
    from interleave import describe, interleave, per_round_ratios, ratio_line

    command = ["deploy", model, "--device", "local", "--backend", backend, "--weights", "random", "--json"]
    trees = {"DIR": other, "this tree": ROOT}
    overheads: dict[str, list[float]] = {name: [] for name in trees}
    ratios: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="edgetrt-deploy-against-") as tmp:
        envs = {}
        for i, (name, tree) in enumerate(trees.items()):
            env = isolated_env(Path(tmp) / str(i))
            env["PYTHONPATH"] = str(tree)
            envs[name] = env
            run_json(command, env, cwd=tree)  # converts and sends the agent: not counted

        def one(name):
            def run() -> float:
                wall, report = run_json(command, envs[name], cwd=trees[name])
                (cell,) = report["runs"]
                assert cell["status"] == "ok" and report["conversion"]["cached"] is True, cell["message"]
                overheads[name].append(wall - phases_s(cell))
                ratios[name].append(wall / phases_s(cell))
                return wall
            return run

        interleave({name: one(name) for name in trees}, rounds)
    print(f"edgetrt {' '.join(command)} (python -m edgetrt of each tree); {rounds} rounds, order alternating")
    print(f"DIR is {other}; this tree is {ROOT}")
    for name in trees:
        print(f"{name:<10} wall − phases {describe(overheads[name], unit=' s')}")
        print(f"{name:<10} wall / phases {describe(ratios[name], digits=3)}")
    print(ratio_line("overhead, this tree / DIR", per_round_ratios(overheads["this tree"], overheads["DIR"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
