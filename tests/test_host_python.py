"""The host package on Python 3.8, as inside an NGC TensorFlow container (21.x-23.x ship 3.8),
where `edgetrt convert --container` runs it with the light dependencies the container lacks."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import pyenv_python  # noqa: TID252

REPO = Path(__file__).resolve().parents[1]
ENGINE = REPO / "tests" / "fixtures" / "engines" / "A08_guorbit_trt8.2.1.8_JetsonNano.engine"


PYTHON38 = pyenv_python("3.8")
pytestmark = pytest.mark.skipif(PYTHON38 is None, reason="no CPython 3.8 on this machine")


@pytest.fixture(scope="module")
def py38(tmp_path_factory):
    venv = tmp_path_factory.mktemp("py38") / "venv"
    subprocess.run([PYTHON38, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    # The container's inner script adds typer, rich and pyyaml; the image has numpy (paramiko is
    # here so that every module can be imported below).
    proc = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "typer", "rich",
                           "pyyaml", "numpy", "paramiko"], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.skip(f"typer/rich/pyyaml for Python 3.8 could not be installed: {proc.stderr.strip()[-300:]}")
    return python


def run(python, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([python, "-m", "edgetrt", *args], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_cli_and_container_dry_run_on_python38(py38):
    assert "deploy" in run(py38, "--help")
    assert {d["name"] for d in json.loads(run(py38, "devices", "--json"))["devices"]} >= {"local", "nano"}
    if ENGINE.is_file():
        assert json.loads(run(py38, "doctor", "engine", str(ENGINE), "--json"))["tensorrt_version"] == "8.2.1.8"
    plan = json.loads(run(py38, "convert", "mobilenet_v2", "--to", "tftrt", "--container", "auto", "--device",
                          "nano", "--dry-run", "--json", "--weights", "random"))
    assert plan["command"][:2] == ["docker", "run"]


def test_every_host_module_imports_on_python38(py38):
    code = ("import importlib, pkgutil, edgetrt\n"
            "names = [m.name for m in pkgutil.walk_packages(edgetrt.__path__, 'edgetrt.')\n"
            "         if not m.name.endswith('__main__')]\n"
            "for name in names:\n"
            "    importlib.import_module(name)\n"
            "print(len(names))\n")
    proc = subprocess.run([py38, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.strip()) > 50
