"""Hostile names on the host and bad --remote-root values: no command runs, nothing escapes the root."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from deploy_cli import REPO, check_store, tiny_onnx, tree
from sshd_server import free_port

pytestmark = pytest.mark.ssh

MEASURE = ("--backend", "onnxruntime", "--duration", "0.1", "--iterations", "3", "--warmup-ms", "10")


@pytest.fixture
def marker():
    """Where an injected ``touch`` would leave a file (absolute, and relative to likely cwds)."""
    name = f"edgetrt-pwned-{secrets.token_hex(4)}"
    places = [Path("/tmp") / name, Path.home() / name, REPO / name]
    yield name, places
    for place in places:
        if place.exists():
            place.unlink()


def hostile_model_paths(base: Path, name: str) -> list[Path]:
    """Real ONNX files at host paths built to break a shell that sees them unquoted."""
    cmd = f"touch /tmp/{name}"
    specs = [
        # spaces, quotes, ';', $( ), backticks; '/' inside $( ) makes real nested directories
        f"with space/it's \"quoted\"; {cmd}/model.onnx",
        f"$({cmd})/`{cmd}`/m;{name}.onnx",
        # '..' components: the path climbs out of a hostile directory into another one
        f"a $({cmd}) b/../../{name} ' \" ; `id`/../x y/$(touch {name}).onnx",
    ]
    paths = []
    for spec in specs:
        walked = base
        for part in Path(spec).parent.parts:  # every directory a '..' steps out of must exist
            walked = walked / part
            if part != "..":
                walked.mkdir(parents=True, exist_ok=True)
        path = base / spec
        tiny_onnx(Path(os.path.normpath(path)))
        assert path.exists()
        paths.append(path)
    return paths


def test_hostile_host_paths_deploy_without_running_anything(sshd, deployer, marker, tmp_path):
    name, places = marker
    device_dir = tmp_path / "device"
    device_dir.mkdir()
    (device_dir / "sibling.txt").write_text("untouched")
    remote_root = device_dir / f"root with ' \" ; $(touch {name}) `touch {name}`"
    before = tree(device_dir)

    for model in hostile_model_paths(tmp_path / "host models", name):
        assert f"touch /tmp/{name}" in str(model)
        deploy = deployer.run(str(model), sshd, remote_root=remote_root, extra=MEASURE)
        assert deploy.ok, deploy.describe()
        run = deploy.report["runs"][0]
        assert run["status"] == "ok", run
        assert deploy.report["device"]["remote_root"] == str(remote_root)
        assert Path(deploy.report["transfer"]["remote_dir"]).parent == remote_root / "artifacts"

    assert not any(p.exists() for p in places), "an injected command ran"
    after = tree(device_dir)
    new = set(after) - set(before)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing changed beside it
    top = remote_root.name
    assert all(p == top or p.startswith(top + "/") for p in new), sorted(new)
    check_store(remote_root)
    for link in (remote_root / "artifacts").rglob("*"):
        if link.is_symlink():
            assert Path(os.path.realpath(link)).parent == remote_root / "store"


@pytest.mark.parametrize("root", [
    "relative/path",
    "/tmp/x/../../etc",
    "~/../../etc",
    "~other/.edgetrt",
    "{tmp}/line\nbreak",
    "{tmp}/x/../../escaped",
    "/",
])
def test_bad_remote_root_is_refused_before_anything_is_written(sshd, deployer, tmp_path, root):
    root = root.format(tmp=tmp_path / "device")
    cache = tmp_path / "fresh-cache"
    deployer.env["EDGETRT_CACHE"] = str(cache)  # a conversion would create it
    model = tiny_onnx(tmp_path / "models" / "tiny.onnx")
    watched = [tmp_path / "device", tmp_path / "escaped", Path("/etc/store"), Path("/etc/tmp"),
               Path("/store"), Path.home() / "relative", REPO / "relative", Path("/tmp/x")]
    existed = {p: p.exists() for p in watched}
    # A closed port: should the check ever regress, the deploy fails to connect instead of
    # creating a store under /etc, and this test still fails (on the message).
    deployer.device_file(sshd)
    refused = deployer.run(str(model), None, host=f"{sshd.user}@127.0.0.1:{free_port()}",
                           known_hosts=sshd.known_hosts, key=sshd.client_key, remote_root=root,
                           extra=MEASURE)
    line = refused.error_line()
    assert refused.proc.returncode == 2
    assert line.startswith("error: --remote-root "), line
    assert "\n" not in line
    assert not cache.exists(), "the model was converted before the root was checked"
    assert {p: p.exists() for p in watched} == existed


def test_bad_remote_root_in_the_device_file_is_refused_naming_the_file(sshd, deployer, tmp_path):
    path = deployer.device_file(sshd)
    path.write_text(path.read_text() + f"remote_root: {tmp_path}/x/../escaped\n")
    model = tiny_onnx(tmp_path / "models" / "tiny.onnx")
    # no --remote-root: the device file's value is used
    refused = deployer.run(str(model), None, host=sshd.address, known_hosts=sshd.known_hosts,
                           key=sshd.client_key, remote_root=None, extra=MEASURE)
    line = refused.error_line()
    assert str(path) in line and "'..'" in line, line
    assert not (tmp_path / "escaped").exists()


def test_error_line_shows_brackets_in_a_path_literally(sshd, deployer, tmp_path):
    root = f"{tmp_path}/a[/]b [bold]c/../d"
    deployer.device_file(sshd)
    refused = deployer.run(str(tiny_onnx(tmp_path / "tiny.onnx")), None,
                           host=f"{sshd.user}@127.0.0.1:{free_port()}", known_hosts=sshd.known_hosts,
                           key=sshd.client_key, remote_root=root, extra=MEASURE)
    line = refused.error_line()
    assert root in line, line
