"""The agent's zipapp (device/agent_bundle.py): built once per sources and bytecode version, the
same bytes every time; this interpreter imports the bytecode in it, another version compiles the
sources beside it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgetrt.device import agent_bundle
from edgetrt.device.agent_bundle import build_agent_bundle, bundle_bytes

PYENV = Path.home() / ".pyenv" / "versions"


def test_the_bundle_is_built_once_and_stays_the_same(tmp_path):
    first = build_agent_bundle(tmp_path)
    assert build_agent_bundle(tmp_path) == first
    assert bundle_bytes() == first.path.read_bytes()  # a rebuild is byte-identical
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]


def test_devices_starting_together_get_the_hash_of_the_one_file_there(tmp_path):
    """A fleet's devices ask for the bundle at once; whatever each thread built, all of them send
    the file under the name, with its hash (marshal's bytes may differ between two builds)."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        bundles = list(pool.map(lambda _: build_agent_bundle(tmp_path), range(8)))
    on_disk = hashlib.sha256(bundles[0].path.read_bytes()).hexdigest()
    assert {b.sha256 for b in bundles} == {on_disk}
    assert [p.name for p in tmp_path.iterdir()] == [bundles[0].path.name]  # no temporary left


def test_a_changed_source_is_another_bundle(tmp_path):
    source = tmp_path / "agent"
    shutil.copytree(agent_bundle.AGENT_SOURCE, source, ignore=shutil.ignore_patterns("__pycache__"))
    before = build_agent_bundle(tmp_path / "cache", source)
    assert before.sha256 == build_agent_bundle(tmp_path / "other-cache").sha256  # the same sources
    (source / "stats.py").write_text((source / "stats.py").read_text() + "\n# changed\n")
    after = build_agent_bundle(tmp_path / "cache", source)
    assert after.sha256 != before.sha256 and after.path != before.path


def loaded_from(python: str, bundle: Path) -> str:
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import edgetrt_agent.stats as m; "
            "print(m.__file__.rsplit('.', 1)[-1])")
    return subprocess.run([python, "-c", code, str(bundle)], capture_output=True, text=True, check=True).stdout.strip()


def test_this_interpreter_imports_the_bytecode_another_compiles_the_source(tmp_path):
    bundle = build_agent_bundle(tmp_path).path
    assert loaded_from(sys.executable, bundle) == "pyc"
    others = [p / "bin" / "python" for p in sorted(PYENV.glob("3.*"))
              if not p.name.startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")]
    others = [p for p in others if p.is_file()]
    if not others:
        pytest.skip("no other Python version on this host")
    for python in others:
        assert loaded_from(str(python), bundle) == "py", python


def test_a_pyc_whose_source_changed_is_not_used(tmp_path):
    """Checked hash-based: the bytecode of other bytes than the source beside it is ignored."""
    import zipfile

    bundle = build_agent_bundle(tmp_path).path
    edited = tmp_path / "edited.pyz"
    with zipfile.ZipFile(bundle) as old, zipfile.ZipFile(edited, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "edgetrt_agent/stats.py":
                data += b"\nEDITED = True\n"
            new.writestr(info, data)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import edgetrt_agent.stats as m; "
            "print(getattr(m, 'EDITED', False))")
    out = subprocess.run([sys.executable, "-c", code, str(edited)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
