"""Parsed YAML kept in the host cache by text (config/yamlfile.py): a later command reads the
record and imports no PyYAML; an edited file, a damaged record, a file that does not parse, a
value marshal cannot keep and a cache that cannot be written each take the parser's way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edgetrt.config import yamlfile
from edgetrt.config.yamlfile import load_yaml
from edgetrt.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

DEVICE = "name: shelf-1\nprofile: nano\nconnection:\n  host: 10.0.0.7\n  user: jetson\n"


def records(cache: Path) -> list[Path]:
    return sorted((cache / yamlfile.CACHE_PART).glob("*.marshal"))


def load_in_a_new_process(path: Path, cache: Path) -> dict:
    """What a later command sees: the document, and whether PyYAML was imported for it."""
    code = textwrap.dedent(f"""
        import json, sys
        from edgetrt.config.yamlfile import load_yaml
        doc = load_yaml({str(path)!r})
        print(json.dumps({{"data": doc.data, "line": doc.where("connection", "user"),
                          "yaml": "yaml" in sys.modules}}))
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO), EDGETRT_CACHE=str(cache))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_second_command_reads_the_record_and_imports_no_yaml(tmp_path):
    path, cache = tmp_path / "shelf-1.yaml", tmp_path / "cache"
    path.write_text(DEVICE)
    first = load_in_a_new_process(path, cache)
    assert first["yaml"] is True and len(records(cache)) == 1
    again = load_in_a_new_process(path, cache)
    assert again == dict(first, yaml=False)
    assert again["line"] == f"{path}:5"  # lines kept too: errors still name file:line


def test_an_edited_file_is_parsed_again_even_with_its_old_size_and_times(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGETRT_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "shelf-1.yaml"
    path.write_text(DEVICE)
    st = os.stat(path)
    assert load_yaml(path).data["connection"]["host"] == "10.0.0.7"
    path.write_text(DEVICE.replace("10.0.0.7", "10.0.0.8"))  # the same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert load_yaml(path).data["connection"]["host"] == "10.0.0.8"


def test_a_damaged_record_is_parsed_past_and_replaced(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("EDGETRT_CACHE", str(cache))
    path = tmp_path / "shelf-1.yaml"
    path.write_text(DEVICE)
    expected = load_yaml(path).data
    (record,) = records(cache)
    for damage in (record.read_bytes()[:7], b"", b"\x00garbage"):
        record.write_bytes(damage)
        assert load_yaml(path).data == expected
        assert records(cache) == [record] and record.read_bytes() not in (damage,)


def test_a_file_that_does_not_parse_is_never_kept(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("EDGETRT_CACHE", str(cache))
    path = tmp_path / "bad.yaml"
    path.write_text("name: a\nname: b\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="duplicate key 'name'"):
            load_yaml(path)
    assert records(cache) == []


def test_a_value_marshal_cannot_keep_is_parsed_each_time(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("EDGETRT_CACHE", str(cache))
    path = tmp_path / "dated.yaml"
    path.write_text("name: a\nbought: 2026-12-02\n")
    assert str(load_yaml(path).data["bought"]) == "2026-12-02"  # a datetime.date
    assert records(cache) == []
    assert str(load_yaml(path).data["bought"]) == "2026-12-02"


def test_a_cache_that_cannot_be_written_only_costs_the_parse(tmp_path, monkeypatch):
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache directory would be")
    monkeypatch.setenv("EDGETRT_CACHE", str(blocked))
    path = tmp_path / "shelf-1.yaml"
    path.write_text(DEVICE)
    assert load_yaml(path).data["name"] == "shelf-1"
    assert blocked.read_text() == "a file where the cache directory would be"
