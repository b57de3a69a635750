import json
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def doctor(*args):
    return subprocess.run([sys.executable, "-m", "edgetrt", "doctor", "device", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=300)


def test_nano_profile_side_by_side_and_implications():
    proc = doctor("nano", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    rows = {r["key"]: r for r in report["rows"]}
    assert rows["compute_capability"]["device_expected"] == "5.3"
    assert rows["tensorrt"]["device_expected"].startswith("8.2")
    assert rows["python"]["host"] == platform.python_version()
    assert any(r["jetpack"] == "4.6.4" and r["tensorrt"] == "8.2.1.9" for r in report["releases"])
    text = " ".join(report["implications"])
    assert "sm_53" in text and "INT8" in text and "never loads on a Jetson" in text


def test_local_device_probe_through_the_agent():
    proc = doctor("local", "--probe", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["probed"] is True
    rows = {r["key"]: r for r in report["rows"]}
    assert rows["python"]["device_probed"] == platform.python_version()


def test_unknown_device_is_one_line():
    proc = doctor("nope")
    assert proc.returncode == 2 and "unknown device 'nope'" in proc.stderr and "Traceback" not in proc.stderr


def test_doctor_device_imports_no_tensorflow_to_show_its_version():
    """TensorFlow takes seconds to import: its version and TF-TRT verdict come from files."""
    import subprocess
    import sys

    code = ("import sys\nfrom edgetrt import api\nreport = api.doctor_device('nano')[0]\n"
            "row = next(r for r in report['rows'] if r['key'] == 'tensorflow')\n"
            "print('tensorflow' in sys.modules, bool(row['host']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"], out.stderr
