"""Engines built once per kind of board, through the real pipeline over real OpenSSH.

Stock-JetPack stand-ins on loopback: the device's python3 is CPython 3.6 with numpy 1.13.3 (no
TensorRT module: the trtexec path), `dpkg-query` is a STAND-IN printing the real Jetson Nano package
list (capture C18: TensorRT 8.2.1.9) and `trtexec` is the STAND-IN of tests/agent/trtexec_standin.py,
"building" the bytes of a real engine fixture so the host reads a real header from what it fetches.

- five identical boards (TensorRT 8.2.1.9): one builds, four are given its engine ("shared");
- a board whose packages say TensorRT 8.2.1.8 builds its own;
- a group whose first board wrote a damaged engine: refused before it is pushed, each builds its own.
"""

from __future__ import annotations

import json
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


def test_one_build_per_kind_of_board(tmp_path, deployer, python36_jetpack):
    from sshd_server import keygen

    keygen(tmp_path / "client_ed25519")
    damaged = tmp_path / "damaged.engine"
    damaged.write_bytes(NANO_8219.read_bytes()[:4096])  # a cut copy: its header says it is truncated
    kinds = {"same": board_kind(tmp_path, "same", python36_jetpack, "8.2.1.9", NANO_8219),
             "other": board_kind(tmp_path, "other", python36_jetpack, "8.2.1.8", NANO_8218),
             "broken": board_kind(tmp_path, "broken", python36_jetpack, "8.2.1.9", damaged)}
    try:
        known = tmp_path / "known_hosts"
        known.write_text("".join(open(s.known_hosts).read() for s, _ in kinds.values()))

        def deploy(shelf: str, hosts) -> dict:
            lines = ["[nanos]"] + [f"{name} ansible_host=127.0.0.1 ansible_port={kinds[kind][0].port} "
                                   f"ansible_user={kinds[kind][0].user} "
                                   f"edgetrt_remote_root={tmp_path / 'roots' / name}" for kind, name in hosts]
            lines += ["", "[nanos:vars]", "edgetrt_profile=nano", f"edgetrt_python={python36_jetpack}"]
            inventory = tmp_path / f"{shelf}.ini"
            inventory.write_text("\n".join(lines) + "\n")
            argv = [sys.executable, "-m", "edgetrt", "deploy", "mobilenet_v1_0.25_128", "--device", "@nanos",
                    "--inventory", str(inventory), "--known-hosts", str(known),
                    "--ssh-config", str(deployer.ssh_config(tmp_path / "client_ed25519")), *QUICK, "--json"]
            proc = subprocess.run(argv, capture_output=True, text=True, env=deployer.env, timeout=1200)
            assert proc.returncode == 0, proc.stderr[-3000:]
            return {d["name"]: d for d in json.loads(proc.stdout)["devices"]}

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
