"""What a user gets from `pip install edgetrt`: a wheel of this tree, installed into a throwaway
venv, finds the device files and model recipes it ships (before they moved into the package, a
wheel had neither and `edgetrt deploy mobilenet_v2 --device local` said "unknown device")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from .conftest import REPO  # noqa: TID252

SHIPPED = {"devices": REPO / "edgetrt" / "data" / "devices", "recipes": REPO / "edgetrt" / "data" / "recipes"}


def _run(argv, **kwargs):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EDGETRT_DEVICES", "EDGETRT_RECIPES")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", **kwargs.pop("env", {}))
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{argv[:4]} exited {proc.returncode}: {proc.stderr[-2000:]}"
    return proc.stdout


def test_an_installed_wheel_ships_its_devices_and_recipes(tmp_path):
    # built from a copy: setuptools' build/ in the tree may hold files this tree no longer has
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "tests", "benchmarks", "docs"))
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "--wheel-dir", str(tmp_path / "wheels"), str(source)])
    (wheel,) = (tmp_path / "wheels").glob("edgetrt-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for kind, directory in SHIPPED.items():
        files = sorted(p.name for p in directory.glob("*.yaml"))
        assert files, directory
        assert {f"edgetrt/data/{kind}/{name}" for name in files} <= names

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    # the dependencies are this interpreter's (no index here); edgetrt itself only from the wheel
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
          str(wheel)])
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "EDGETRT_CACHE": str(tmp_path / "cache")}
    where = _run([str(python), "-c", "import edgetrt; print(edgetrt.__file__)"], cwd=tmp_path, env=env)
    assert Path(where.strip()).is_relative_to(Path(site))  # not this tree
    cli = str(venv / "bin" / "edgetrt")
    devices = json.loads(_run([cli, "devices", "--json"], cwd=tmp_path, env=env))["devices"]
    assert {d["name"] for d in devices} == {p.stem for p in SHIPPED["devices"].glob("*.yaml")}
    models = json.loads(_run([cli, "models", "--json"], cwd=tmp_path, env=env))["models"]
    assert {m["name"] for m in models} == {p.stem for p in SHIPPED["recipes"].glob("*.yaml")}
