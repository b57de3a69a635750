"""A deploy cut off mid-upload fails in one line, leaves only verified files, and the next resumes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deploy_cli import check_store, wait_for_sessions_to_end
from sshd_server import public_line
from tcp_relay import TCPRelay

pytestmark = [pytest.mark.slow, pytest.mark.ssh]

MEASURE = ("--weights", "random", "--backend", "onnxruntime", "--duration", "0.3", "--iterations", "5")
CUT_AFTER = 4 << 20  # client→server bytes: well inside model.onnx (about 14 MB)


def test_interrupted_upload_fails_cleanly_and_the_next_deploy_resumes(sshd, deployer, tmp_path):
    remote_root = tmp_path / "device" / ".edgetrt"
    known = tmp_path / "known_hosts_relay"
    with TCPRelay(sshd.port, cut_after=CUT_AFTER) as relay:
        known.write_text(f"[127.0.0.1]:{relay.port} {public_line(sshd.host_key)}\n")
        cut = deployer.run("mobilenet_v2", sshd, remote_root=remote_root,
                           host=f"{sshd.user}@127.0.0.1:{relay.port}", known_hosts=known,
                           extra=MEASURE, timeout=600)
        line = cut.error_line()
        assert relay.cuts >= 1
    assert line.startswith("error: upload of model.onnx (")
    assert f"to {sshd.user}@127.0.0.1:{relay.port} failed: the connection was lost" in line, line
    assert "hint: " in cut.proc.stderr and "run the same command again" in cut.proc.stderr

    wait_for_sessions_to_end(sshd, root=remote_root)
    stored = check_store(remote_root)  # nothing at store/<sha> that fails its hash
    parts = list((remote_root / "tmp").glob("*.part"))
    assert len(parts) == 1, sorted((remote_root / "tmp").iterdir())
    partial = parts[0].stat().st_size
    assert 0 < partial
    assert parts[0].name.split(".")[0] not in {p.name for p in stored}
    assert not (remote_root / "artifacts").exists() or not list((remote_root / "artifacts").iterdir())

    resumed = deployer.run("mobilenet_v2", sshd, remote_root=remote_root, extra=MEASURE)
    assert resumed.ok, resumed.describe()
    report = resumed.report
    transfer = report["transfer"]
    stored_after = {p.name: p for p in check_store(remote_root)}
    # What this deploy needed: its agent, the artifact's files and the artifact manifest. (Count
    # from the report: the agent bundle changes whenever edgetrt/agent does.)
    remote_dir = Path(transfer["remote_dir"])
    needed = {report["device"]["agent"]["sha256"], Path(os.path.realpath(remote_dir / "manifest.json")).name}
    needed |= {a["sha256"] for a in report["artifacts"]}
    assert needed <= set(stored_after)
    assert transfer["files_sent"] + transfer["files_skipped"] == len(needed)
    kept = {p.name for p in stored} & needed  # completed by the cut deploy: not sent again
    assert transfer["files_skipped"] == len(kept)
    total = sum(stored_after[sha].stat().st_size for sha in needed)
    resumed_sha = parts[0].name.split(".")[0]
    assert resumed_sha in needed
    # The part file's bytes were not sent again: the upload resumed.
    assert 0 < transfer["bytes_sent"] == total - partial - sum(stored_after[s].stat().st_size for s in kept)
    assert parts[0].name.split(".")[0] in stored_after
    assert not list((remote_root / "tmp").iterdir())
    run = report["runs"][0]
    assert (run["backend"], run["status"]) == ("onnxruntime", "ok"), run
    assert run["steady"]["latency_ms"]["median"] > 0
    print(f"\n{line}\ncut after {relay.forwarded} B: {partial} B of the part file kept; resumed deploy sent "
          f"{transfer['bytes_sent']} of {total} B ({resumed.seconds:.1f} s)")
