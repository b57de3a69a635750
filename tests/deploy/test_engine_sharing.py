"""Engines and timing caches made once per kind of board, through the real pipeline over real OpenSSH.

Stock-JetPack stand-ins on loopback: the device's python3 is CPython 3.6 with numpy 1.13.3 and
`dpkg-query` is a STAND-IN printing the real Jetson Nano package list (capture C18), TensorRT as the
board kind says. Two ways a board runs TensorRT, each a test:

- no TensorRT module: the trtexec path, with the STAND-IN of tests/agent/trtexec_standin.py
  "building" the bytes of a real engine fixture (and writing a placeholder --timingCacheFile);
- the Python-bindings path: the RECORDING DOUBLE of tests/agent/trt_recording_double.py importable
  as `tensorrt` on the device, its engines behind a real engine file's header.

Either way the host reads a real header from what it fetches, and:

- five identical boards: one builds, four are given its engine ("shared from" the first);
- a board of another TensorRT build in the same inventory builds its own;
- a group whose first board wrote a damaged engine: refused before it is pushed, each builds its own;
- timing caches: the first board's reaches the others of its kind; a board that builds starts from
  it ("shared from"), one that built nothing says it used none, one with its own keeps its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sshd_server import SSHServer

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "agent"))
from trtexec_standin import C27_NANO_BUILD, C28_NANO_LOAD, TIMING_MARK, write_standin  # noqa: E402

pytestmark = [pytest.mark.ssh, pytest.mark.slow]

FIXTURES = REPO / "tests" / "fixtures"
NANO_8219 = FIXTURES / "engines" / "A23_seame_team06_model_light_trt8.2.1.9_JetsonNano.engine"
NANO_8218 = FIXTURES / "engines" / "A08_guorbit_trt8.2.1.8_JetsonNano.engine"
QUICK = ("--duration", "0.5", "--iterations", "2", "--warmup-ms", "0", "--weights", "random")
# engine_cache.timing_cache_path on these boards' trtexec path: the loopback probe reads no device
# tree, so the host tells trtexec no compute capability and its keys say "unknown"
TIMING_FILE = "tensorrt-8.2.1.9_smunknown.cache"


def timing_file(tmp_path: Path, name: str, file: str = TIMING_FILE) -> Path:
    return tmp_path / "roots" / name / "engines" / "timing" / file


def dpkg_standin(directory: Path, python: str, tensorrt: str) -> None:
    """A STAND-IN for dpkg-query: the real Nano package list of capture C18, TensorRT as given."""
    from edgetrt.agent.parsers.dpkg import parse_package_list

    packages = parse_package_list((FIXTURES / "logs" / "C18_dpkg_JetsonNano_L4T32.7.4_TRT8.2.1.txt").read_text())
    lines = "".join(f"{name}\t{version.replace('8.2.1.9', tensorrt)}\n" for name, version in packages.items())
    (directory / "packages.txt").write_text(lines)
    script = directory / "dpkg-query"
    script.write_text(f"#!{python}\n# STAND-IN for dpkg-query: prints a real Nano's package list (C18).\n"
                      f"import sys\nsys.stdout.write(open({str(directory / 'packages.txt')!r}).read())\n")
    script.chmod(0o755)


def board_kind(tmp_path: Path, name: str, python: str, tensorrt: str, engine: Path):
    """A loopback sshd whose sessions see this kind of board's dpkg-query and trtexec on PATH."""
    bin_dir = tmp_path / name / "bin"
    standin = write_standin(tmp_path / name, python, build_log=C27_NANO_BUILD, load_log=C28_NANO_LOAD,
                            engine_bytes_from=engine)
    dpkg_standin(bin_dir, python, tensorrt)
    server = SSHServer.start(tmp_path / f"sshd-{name}", client_key=tmp_path / "client_ed25519",
                             extra_config=f"MaxStartups 100\nMaxSessions 50\nSetEnv PATH={bin_dir}:/usr/bin:/bin\n")
    return server, standin


def start_boards(tmp_path: Path, kinds: dict) -> tuple[dict, Path]:
    """Start each kind's sshd (``kinds``: name -> a function of the client key making one); the
    servers and one known_hosts file for all of them."""
    from sshd_server import keygen

    keygen(tmp_path / "client_ed25519")
    started = {}
    try:
        for name, make in kinds.items():
            started[name] = make()
    except BaseException:
        for server, _ in started.values():
            server.stop()
        raise
    known = tmp_path / "known_hosts"
    known.write_text("".join(open(s.known_hosts).read() for s, _ in started.values()))
    return started, known


def deploy_to(tmp_path: Path, deployer, kinds: dict, known: Path, python: str, shelf: str, hosts,
              *extra: str) -> dict:
    """`edgetrt deploy --device @nanos --json` to ``hosts`` ((kind, name) pairs, one inventory);
    each device's report by name."""
    lines = ["[nanos]"] + [f"{name} ansible_host=127.0.0.1 ansible_port={kinds[kind][0].port} "
                           f"ansible_user={kinds[kind][0].user} "
                           f"edgetrt_remote_root={tmp_path / 'roots' / name}" for kind, name in hosts]
    lines += ["", "[nanos:vars]", "edgetrt_profile=nano", f"edgetrt_python={python}"]
    inventory = tmp_path / f"{shelf}.ini"
    inventory.write_text("\n".join(lines) + "\n")
    argv = [sys.executable, "-m", "edgetrt", "deploy", "mobilenet_v1_0.25_128", "--device", "@nanos",
            "--inventory", str(inventory), "--known-hosts", str(known),
            "--ssh-config", str(deployer.ssh_config(tmp_path / "client_ed25519")), *QUICK, *extra]
    proc = subprocess.run(argv, capture_output=True, text=True, env=deployer.env, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    if "--json" not in extra:
        return {"text": proc.stdout}
    doc = json.loads(proc.stdout)
    return {d["name"]: d for d in doc["devices"]} if "devices" in doc else {doc["name"]: doc}


def test_one_build_per_kind_of_board(tmp_path, deployer, python36_jetpack):
    damaged = tmp_path / "damaged.engine"
    damaged.write_bytes(NANO_8219.read_bytes()[:4096])  # a cut copy: its header says it is truncated
    kinds, known = start_boards(tmp_path, {
        "same": lambda: board_kind(tmp_path, "same", python36_jetpack, "8.2.1.9", NANO_8219),
        "other": lambda: board_kind(tmp_path, "other", python36_jetpack, "8.2.1.8", NANO_8218),
        "broken": lambda: board_kind(tmp_path, "broken", python36_jetpack, "8.2.1.9", damaged)})
    try:
        def deploy(shelf: str, hosts) -> dict:
            return deploy_to(tmp_path, deployer, kinds, known, python36_jetpack, shelf, hosts, "--json")

        devices = deploy("shelf", [("same", f"nano{i}") for i in range(1, 6)] + [("other", "odd1")])
        # Another shelf of the same kind of board, whose first board wrote a damaged engine; bad3
        # already has a timing cache of its own.
        own = tmp_path / "roots" / "bad3" / "engines" / "timing" / TIMING_FILE
        own.parent.mkdir(parents=True)
        own.write_bytes(b"BAD3'S OWN+")
        devices.update(deploy("damaged", [("broken", f"bad{i}") for i in range(1, 4)]))
        engine = {name: d["runs"][0]["engine"] for name, d in devices.items()}
        timing = {name: d["runs"][0]["timing_cache"] for name, d in devices.items()}
        build_ms = {name: d["runs"][0]["build_ms"] for name, d in devices.items()}

        assert engine["nano1"] == "built"
        assert [engine[f"nano{i}"] for i in range(2, 6)] == ["shared from nano1"] * 4
        assert all(build_ms[f"nano{i}"] == build_ms["nano1"] for i in range(2, 6))  # nano1's build time
        assert len(kinds["same"][1].builds()) == 1  # one build for five boards

        assert engine["odd1"] == "built" and len(kinds["other"][1].builds()) == 1  # another TensorRT build

        assert [engine[f"bad{i}"] for i in range(1, 4)] == ["built"] * 3
        assert len(kinds["broken"][1].builds()) == 3
        for name in ("bad2", "bad3"):
            assert any("was not passed on" in w and "truncated" in w.lower() for w in devices[name]["warnings"]), \
                devices[name]["warnings"]
        for d in devices.values():
            assert d["runs"][0]["status"] == "ok", (d["name"], d["runs"][0]["message"])

        # Timing caches (trtexec --timingCacheFile, 8.2+): nano1's was passed on with its engine.
        # nano2..5 built nothing, so no timing cache was used for their cell; each keeps nano1's for
        # its next build.
        written = timing_file(tmp_path, "nano1").read_bytes()
        assert timing["nano1"] == "new" and written == TIMING_MARK
        for i in range(2, 6):
            assert timing[f"nano{i}"] is None
            assert devices[f"nano{i}"]["runs"][0]["facts"]["timing_cache_offer"] == {"shared_from": "nano1"}
            assert timing_file(tmp_path, f"nano{i}").read_bytes() == written
        assert timing["odd1"] == "new"  # alone of its kind
        # bad1's engine was refused, its timing cache was not: bad2 built starting from it ...
        assert timing["bad1"] == "new" and timing["bad2"] == "shared from bad1"
        assert timing_file(tmp_path, "bad2").read_bytes() == TIMING_MARK + TIMING_MARK
        # ... and bad3 kept its own.
        assert timing["bad3"].startswith("own (bad1's not taken: this device has a timing cache of its own")
        assert own.read_bytes() == b"BAD3'S OWN+" + TIMING_MARK
    finally:
        for server, _ in kinds.values():
            server.stop()


# ---- the Python-bindings path: the RECORDING DOUBLE of TensorRT as the device's `tensorrt` ---------

DOUBLE = REPO / "tests" / "agent" / "trt_recording_double.py"

# The device's `tensorrt` module: put on its PYTHONPATH (the sshd's SetEnv), imported by the agent's
# probe and by its measuring children like JetPack's python3-libnvinfer would be.
TENSORRT_STANDIN = '''"""STAND-IN for JetPack's TensorRT {version} Python module on this test board: the RECORDING
DOUBLE of tests/agent/trt_recording_double.py (and its PyCUDA double, for device buffers). NOT TensorRT."""
import sys

import trt_recording_double as double

with open({header!r}, "rb") as fh:
    header = fh.read()
state = double.State({version!r}, [], [], engine_header=header, io_from_manifest=True)
trt = double.make_tensorrt(state)
_build = trt.Builder.build_serialized_network


def _build_recorded(self, network, config):
    with open({builds!r}, "a") as fh:  # the builds of every process on this kind of board
        fh.write("build\\n")
    return _build(self, network, config)


trt.Builder.build_serialized_network = _build_recorded
pycuda, driver = double.make_pycuda(state)
sys.modules.update({{"tensorrt": trt, "pycuda": pycuda, "pycuda.driver": driver}})
'''


def python_board_kind(tmp_path: Path, name: str, python: str, tensorrt: str, header: bytes):
    """A loopback sshd whose sessions import the RECORDING DOUBLE as ``tensorrt`` (its serialized
    engines start with ``header``, a real engine file's bytes) and its PyCUDA double as ``pycuda``,
    and see a dpkg-query STAND-IN saying TensorRT ``tensorrt``.

    PyCUDA's double, not the double libcudart: this machine has a real libcudart (a CUDA toolkit,
    no GPU) where JetPack's would be, which the agent would find first and fail on."""
    bin_dir, lib = tmp_path / name / "bin", tmp_path / name / "pylib"
    bin_dir.mkdir(parents=True)
    (lib / "pycuda").mkdir(parents=True)
    shutil.copy(DOUBLE, lib / "trt_recording_double.py")
    (lib / "engine-header.bin").write_bytes(header)
    builds = tmp_path / name / "builds.txt"
    (lib / "tensorrt.py").write_text(TENSORRT_STANDIN.format(version=tensorrt, header=str(lib / "engine-header.bin"),
                                                             builds=str(builds)))
    # `import pycuda` before `import tensorrt` finds this package, which brings in the doubles
    (lib / "pycuda" / "__init__.py").write_text("import tensorrt  # noqa: F401 (puts the PyCUDA double in its place)\n")
    dpkg_standin(bin_dir, python, tensorrt)
    server = SSHServer.start(tmp_path / f"sshd-{name}", client_key=tmp_path / "client_ed25519",
                             extra_config=f"MaxStartups 100\nMaxSessions 50\n"
                                          f"SetEnv PATH={bin_dir}:/usr/bin:/bin PYTHONPATH={lib}\n")
    return server, BuildCount(builds)


class BuildCount:
    def __init__(self, path: Path):
        self.path = path

    def builds(self) -> list[str]:
        return self.path.read_text().splitlines() if self.path.exists() else []


def test_one_build_per_kind_of_board_on_the_python_path(tmp_path, deployer, python36_jetpack):
    same, other = NANO_8218.read_bytes(), NANO_8219.read_bytes()  # real 8.2.1.8 and 8.2.1.9 Nano engines
    kinds, known = start_boards(tmp_path, {
        "same": lambda: python_board_kind(tmp_path, "same", python36_jetpack, "8.2.1.8", same),
        "other": lambda: python_board_kind(tmp_path, "other", python36_jetpack, "8.2.1.9", other),
        # a cut copy of the header: the engines its boards write say they are truncated
        "broken": lambda: python_board_kind(tmp_path, "broken", python36_jetpack, "8.2.1.8", same[:4096])})
    timing = "tensorrt-8.2.1.8_sm53.cache"  # the GPU's compute capability, from the PyCUDA double
    try:
        def deploy(shelf: str, hosts) -> dict:
            return deploy_to(tmp_path, deployer, kinds, known, python36_jetpack, shelf, hosts, "--json")

        devices = deploy("shelf", [("same", f"dev{i}") for i in range(1, 6)] + [("other", "odd1")])
        own = timing_file(tmp_path, "bad3", timing)
        own.parent.mkdir(parents=True)
        own.write_bytes(b"BAD3'S OWN")
        devices.update(deploy("damaged", [("broken", f"bad{i}") for i in range(1, 4)]))
        runs = {name: d["runs"][0] for name, d in devices.items()}
        for name, run in runs.items():
            assert run["status"] == "ok", (name, run["message"])
            assert run["facts"]["path"] == "python" and run["facts"]["builder"] == "python", (name, run["facts"])
            assert run["facts"]["cuda_library"] == "pycuda"  # (its double)
            assert run["facts"]["tensorrt"] == ("8.2.1.9" if name == "odd1" else "8.2.1.8")

        assert runs["dev1"]["engine"] == "built"
        assert [runs[f"dev{i}"]["engine"] for i in range(2, 6)] == ["shared from dev1"] * 4
        assert all(runs[f"dev{i}"]["build_ms"] == runs["dev1"]["build_ms"] for i in range(2, 6))
        assert len(kinds["same"][1].builds()) == 1  # one build for five boards
        engine = (tmp_path / "roots" / "dev1" / "engines" / Path(runs["dev1"]["facts"]["engine_file"]).name)
        for i in range(2, 6):  # the same bytes, under the same key, on every board
            assert (tmp_path / "roots" / f"dev{i}" / "engines" / engine.name).read_bytes() == engine.read_bytes()
        assert engine.read_bytes().startswith(same)  # behind a real 8.2.1.8 header: what the host read

        assert runs["odd1"]["engine"] == "built" and len(kinds["other"][1].builds()) == 1

        # A damaged engine is refused before it is pushed: each board of that shelf builds its own.
        assert [runs[f"bad{i}"]["engine"] for i in range(1, 4)] == ["built"] * 3
        assert len(kinds["broken"][1].builds()) == 3
        for name in ("bad2", "bad3"):
            assert any("was not passed on" in w and "truncated" in w.lower() for w in devices[name]["warnings"]), \
                devices[name]["warnings"]

        # Timing caches. dev2..5 built nothing, so their cells used none; each keeps dev1's ...
        written = timing_file(tmp_path, "dev1", timing).read_bytes()
        assert runs["dev1"]["timing_cache"] == "new" and written == b"+timing"  # the double's serialize
        for i in range(2, 6):
            assert runs[f"dev{i}"]["timing_cache"] is None
            assert runs[f"dev{i}"]["facts"]["timing_cache_offer"] == {"shared_from": "dev1"}
            assert timing_file(tmp_path, f"dev{i}", timing).read_bytes() == written
        assert runs["odd1"]["timing_cache"] == "new"
        # ... bad2 built from bad1's, and bad3 kept its own.
        assert runs["bad1"]["timing_cache"] == "new"
        assert runs["bad2"]["timing_cache"] == "shared from bad1"
        assert timing_file(tmp_path, "bad2", timing).read_bytes() == b"+timing+timing"
        assert runs["bad3"]["timing_cache"].startswith("own (bad1's not taken: this device has a timing cache")
        assert own.read_bytes() == b"BAD3'S OWN+timing"

        # dev2's next build (its engine gone, deployed alone: nothing to share) starts from dev1's.
        for path in (tmp_path / "roots" / "dev2" / "engines").glob("*.*"):
            path.unlink()
        [again] = deploy("dev2-alone", [("same", "dev2")]).values()
        assert again["runs"][0]["engine"] == "built"
        assert again["runs"][0]["timing_cache"] == "own, started from dev1's"
        assert timing_file(tmp_path, "dev2", timing).read_bytes() == b"+timing+timing"
    finally:
        for server, _ in kinds.values():
            server.stop()
