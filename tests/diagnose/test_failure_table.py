"""One failure-text table (edgetrt/agent/data/failure_patterns.json) for the agent and the host.

The agent's run statuses (outcome.py) and the host's findings (log_classifier.py) must read the
same patterns and agree on every real log; every pattern must match the real wording it was
written from.
"""

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgetrt.agent import failure_patterns, outcome
from edgetrt.device.agent_bundle import bundle_bytes
from edgetrt.diagnose import findings as findings_module
from edgetrt.diagnose.findings import EXPLAINS, FAILURE_NAMES, FINDING_CODES, GUIDANCE
from edgetrt.diagnose.log_classifier import classify_log, strip_label_header

REPO = Path(__file__).resolve().parents[2]
TABLE_PATH = REPO / "edgetrt" / "agent" / "data" / "failure_patterns.json"
ERROR_LOGS = sorted((REPO / "tests" / "fixtures" / "errors").glob("*.txt"))
HEALTHY_LOGS = sorted((REPO / "tests" / "fixtures" / "logs").glob("*.txt"))
TABLE = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
EXAMPLES = [
    (entry["code"], pattern["regex"], pattern["example"])
    for entry in TABLE["findings"]
    for pattern in entry["patterns"]
]
# The engine builder's own out-of-memory wordings (edgetrt/agent/backends/tensorrt/build.py).
BUILDER_OOM_WORDINGS = ["allocation failed", "could not be allocated", "Cuda Error in allocate"]


def _patterns_by_status(kinds, status):
    return {(kind.code, pattern.pattern) for kind in kinds if kind.run_status == status for pattern in kind.patterns}


def test_the_agent_and_the_classifier_use_the_same_patterns():
    host = findings_module.FAILURE_KINDS
    for status in ("oom", "incompatible"):
        agent = {pattern.pattern for pattern in outcome.patterns_for_status(status)}
        assert agent == {regex for _, regex in _patterns_by_status(host, status)}
        assert agent == {p["regex"] for e in TABLE["findings"] if e["run_status"] == status for p in e["patterns"]}
    assert {kind.code for kind in host} == {entry["code"] for entry in TABLE["findings"]}


def test_outcome_holds_no_patterns_of_its_own():
    source = inspect.getsource(outcome)
    assert "re.compile" not in source and "import re" not in source


def test_the_table_is_well_formed():
    assert TABLE["schema_version"] == 1
    assert {entry["run_status"] for entry in TABLE["findings"]} <= set(TABLE["run_statuses"]) | {None}
    assert set(TABLE["run_statuses"]) <= set(outcome.STATUSES)
    assert set(FINDING_CODES) == set(GUIDANCE) == set(FAILURE_NAMES)
    for entry in TABLE["findings"]:
        assert len(entry["patterns"]) >= 2, entry["code"]  # several independent wordings per finding
        assert all(pattern["source"] for pattern in entry["patterns"])


def test_a_finding_comes_before_those_it_explains():
    for code, explained in EXPLAINS.items():
        for effect in explained:
            assert FINDING_CODES.index(code) < FINDING_CODES.index(effect), (code, effect)


@pytest.mark.parametrize("code, regex, example", EXAMPLES, ids=[f"{c}:{i}" for i, (c, _, _) in enumerate(EXAMPLES)])
def test_every_pattern_matches_the_real_wording_it_was_written_from(code, regex, example):
    kind = next(kind for kind in failure_patterns.load_failure_kinds() if kind.code == code)
    assert any(pattern.pattern == regex and pattern.search(example) for pattern in kind.patterns)
    codes = [finding.code for finding in classify_log(example)]
    if kind.requires is None:
        assert code in codes, codes
    expected_status = {"incompatible": "incompatible", "oom": "oom"}.get(kind.run_status)
    if expected_status:
        assert outcome.classify_exception_text(example) in ("incompatible", expected_status)


@pytest.mark.parametrize("wording", BUILDER_OOM_WORDINGS)
def test_text_says_oom_covers_the_engine_builders_wordings(wording):
    assert outcome.text_says_oom(f"[TRT] [E] {wording}")
    assert outcome.classify_exception_text(f"EngineBuildError: {wording}") == "oom"


def test_builders_private_list_if_still_there_is_covered():
    from edgetrt.agent.backends.tensorrt import build

    for pattern in getattr(build, "_BUILD_OOM", ()):
        assert outcome.text_says_oom(pattern.pattern)


def _status_from_findings(codes):
    statuses = {next(k.run_status for k in findings_module.FAILURE_KINDS if k.code == code) for code in codes}
    if "incompatible" in statuses:
        return "incompatible"
    return "oom" if "oom" in statuses else "error"


@pytest.mark.parametrize("log_path", ERROR_LOGS + HEALTHY_LOGS, ids=[p.name[:3] for p in ERROR_LOGS + HEALTHY_LOGS])
def test_agent_status_and_host_findings_agree_on_every_real_log(log_path):
    body = strip_label_header(log_path.read_text(encoding="utf-8"))
    codes = [finding.code for finding in classify_log(body)]
    assert outcome.classify_exception_text(body) == _status_from_findings(codes)


def test_real_statuses_on_real_texts():
    by_prefix = {path.name[:3]: strip_label_header(path.read_text(encoding="utf-8")) for path in ERROR_LOGS}
    assert outcome.classify_exception_text(by_prefix["B79"]) == "oom"  # Tactic Device request
    assert outcome.classify_exception_text(by_prefix["G14"]) == "oom"  # OutOfMemory (no further information)
    assert outcome.classify_exception_text(by_prefix["B91"]) == "incompatible"  # Target GPU SM 120
    assert outcome.classify_exception_text(by_prefix["G05"]) == "incompatible"  # kPLAN_MAGIC_TAG
    assert outcome.classify_exception_text(by_prefix["G16"]) == "error"  # cuDNN set-up: no status of its own
    assert outcome.classify_exit(1, by_prefix["B82"], timed_out=False) == "incompatible"


def test_the_table_loads_from_the_agent_zipapp(tmp_path):
    bundle = tmp_path / "agent.pyz"
    bundle.write_bytes(bundle_bytes())
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from edgetrt_agent import outcome;"
        "print(outcome.classify_exception_text('Cuda Error in allocate'),"
        " outcome.classify_exception_text('Version tag does not match'))"
    )
    completed = subprocess.run([sys.executable, "-c", probe, str(bundle)], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["oom", "incompatible"]


def test_a_broken_table_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(failure_patterns, "_cache", {})
    import pkgutil  # what failure_patterns reads the table with, when it first reads it

    monkeypatch.setattr(pkgutil, "get_data", lambda package, name: b'{"findings": [{"code": "X"}]}')
    with pytest.raises(failure_patterns.FailureTableError, match="bad entry 'X'"):
        failure_patterns.load_failure_kinds()
