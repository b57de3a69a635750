"""The printed NGC container command, checked by a real Docker client: Debian's docker.io parses
every flag of `docker run` before it looks for a daemon, so an accepted command stops at "Cannot
connect to the Docker daemon" here, and a command with a wrong flag does not get that far."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKER = shutil.which("docker")
pytestmark = pytest.mark.skipif(DOCKER is None, reason="no docker client (Debian's docker.io) on this machine")

NO_DAEMON = "Cannot connect to the Docker daemon"


def docker(argv, tmp_path):
    # DOCKER_HOST at a socket that cannot exist: the client never reaches a daemon, even where one runs.
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-daemon.sock", DOCKER_CONFIG=str(tmp_path / "docker"))
    return subprocess.run([DOCKER, *argv[1:]], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("device", ["nano", "xavier-nx", "orin-nano"])
def test_the_printed_command_is_accepted_by_docker_up_to_the_daemon(tmp_path, device):
    env = dict(os.environ, PYTHONPATH=str(REPO), HOME=str(tmp_path), EDGETRT_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "edgetrt", "convert", "mobilenet_v2", "--to", "tftrt",
                           "--container", "auto", "--device", device, "--dry-run", "--json"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    argv = json.loads(proc.stdout)["command"]
    assert argv[:2] == ["docker", "run"]
    result = docker(argv, tmp_path)
    assert NO_DAEMON in result.stderr, result.stderr
    assert "unknown flag" not in result.stderr and "invalid argument" not in result.stderr


def test_a_wrong_flag_is_refused_before_the_daemon(tmp_path):
    result = docker(["docker", "run", "--rm", "--gpus", "all", "--no-such-flag", "x", "image", "true"], tmp_path)
    assert "unknown flag: --no-such-flag" in result.stderr and NO_DAEMON not in result.stderr
