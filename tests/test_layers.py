"""The dependency direction of the package, read from the source (every import statement, lazy
ones inside functions included):

    cli → api → run → (bench, diagnose) → convert → (device, zoo) → config → (errors, hashing,
    progress, lazy, agent)

A module imports its own package or a lower one, never a higher one. The agent imports nothing of
the host; the host reads only the agent's protocol and data tables. The CLI imports only the API,
its own rendering and options; nothing but ``edgetrt.__main__`` imports the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "edgetrt"

RANK = {"errors": 0, "hashing": 0, "progress": 0, "lazy": 0, "agent": 0, "__init__": 0,
        "config": 1, "device": 2, "zoo": 2, "convert": 3, "diagnose": 4, "bench": 4, "run": 5,
        "api": 6, "cli": 7, "__main__": 8}
# What host modules may use of the agent: its protocol and its data tables (Jetson facts, failure
# patterns, the table of TensorRT generations).
AGENT_FOR_HOST = {"edgetrt.agent", "edgetrt.agent.protocol", "edgetrt.agent.jetson", "edgetrt.agent.failure_patterns",
                  "edgetrt.agent.backends.tensorrt.library"}
# `edgetrt check` parses and builds on the host with the agent's own TensorRT loaders, on purpose:
# the check runs the code a device runs.
AGENT_CODE_ON_THE_HOST = {"edgetrt.convert.trt_check"}


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        yield name, path


def imports_of(path: Path, name: str) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            for alias in node.names:  # `from edgetrt.cli import render` imports edgetrt.cli.render
                found.add(f"{target}.{alias.name}")
    return {m for m in found if m == "edgetrt" or m.startswith("edgetrt.")}


def resolved(targets: set[str]) -> set[str]:
    """Imported names mapped to the modules that hold them (`from edgetrt.api import X` -> edgetrt.api)."""
    known = real_modules()
    out = set()
    for target in targets:
        while target not in known and "." in target:
            target = target.rsplit(".", 1)[0]
        out.add(target)
    return out


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def real_modules() -> set[str]:
    return {name for name, _ in modules()}


ALL = list(modules())


@pytest.mark.parametrize("name, path", ALL, ids=[n for n, _ in ALL])
def test_no_module_imports_a_layer_above_it(name, path):
    mine = RANK[top(name)]
    for target in resolved(imports_of(path, name)):
        assert RANK[top(target)] <= mine, f"{name} imports {target}, a layer above it"
        if top(name) != "agent" and top(target) == "agent" and name not in AGENT_CODE_ON_THE_HOST:
            assert target in AGENT_FOR_HOST, f"{name} uses the agent's internals ({target})"


@pytest.mark.parametrize("name, path", [(n, p) for n, p in ALL if top(n) == "agent"],
                         ids=[n for n, _ in ALL if top(n) == "agent"])
def test_the_agent_imports_nothing_of_the_host(name, path):
    for target in resolved(imports_of(path, name)):
        assert top(target) == "agent", f"{name} imports {target}"


@pytest.mark.parametrize("name, path", [(n, p) for n, p in ALL if top(n) == "cli"],
                         ids=[n for n, _ in ALL if top(n) == "cli"])
def test_the_cli_imports_only_the_api_render_and_options(name, path):
    # edgetrt.config.homes: the help fast path (cli/entry.py) finds the cache before importing anything
    allowed_outside = {"edgetrt", "edgetrt.api", "edgetrt.config.homes"}
    for target in resolved(imports_of(path, name)):
        if top(target) == "cli":
            continue
        assert target in allowed_outside, f"{name} imports {target}"


def test_nothing_but_main_imports_the_cli():
    for name, path in ALL:
        if top(name) in ("cli", "__main__"):
            continue
        assert not any(top(t) == "cli" for t in imports_of(path, name)), name


def test_the_checker_sees_lazy_imports():
    """A function-level import counts: the check cannot be passed by moving an import inside."""
    api = PACKAGE / "api.py"
    assert "edgetrt.run.execute" in imports_of(api, "edgetrt.api")
