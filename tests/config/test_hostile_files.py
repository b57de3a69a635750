"""Hostile configuration files through the real CLI: one `error:` line, exit 2, no hang, no blow-up.

Each case is a file a user (or whoever can write to their config directory) could leave where
edgetrt looks: YAML bombs, a FIFO, a link to /dev/zero, a directory, a huge file, duplicate keys,
wrong-typed recipe values. "Within 2 s" is measured against `edgetrt devices` on a clean
configuration run the same way, so a loaded machine's interpreter start-up does not count; the
subprocess timeout catches a hang outright.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgetrt.config import paths
from edgetrt.config.yamlfile import MAX_DEPTH, load_yaml
from edgetrt.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
RECIPE = (REPO / "edgetrt" / "data" / "recipes" / "mobilenet_v1.yaml").read_text()
DEVICE = "name: {name}\nprofile: nano\nconnection:\n  host: 10.0.0.9\n  user: me\n"


def run_cli(args, config_home: Path, recipes: Path | None = None, timeout: float = 30):
    env = dict(os.environ, XDG_CONFIG_HOME=str(config_home), PYTHONPATH=str(REPO))
    if recipes is not None:
        env["EDGETRT_RECIPES"] = str(recipes)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=REPO, stdin=subprocess.DEVNULL)
    return proc, time.monotonic() - started


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> float:
    """Seconds `edgetrt devices` takes on a clean configuration (interpreter start-up included)."""
    home = tmp_path_factory.mktemp("clean")
    times = []
    for _ in range(2):
        proc, seconds = run_cli(["devices"], home)
        assert proc.returncode == 0, proc.stderr
        times.append(seconds)
    return min(times)


def one_error_line(proc) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-3000:]
    others = [line for line in proc.stderr.splitlines() if not line.startswith(("error:", "hint:"))]
    assert not others, proc.stderr[-3000:]
    return errors[0]


def devices_dir(tmp_path: Path) -> Path:
    d = tmp_path / "config" / "edgetrt" / "devices"
    d.mkdir(parents=True, exist_ok=True)
    return d


def laughs(levels: int = 9) -> str:
    lines = ["name: x", "profile: nano", "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# (file name, how to make it, what the error line must say)
def _write(text):
    return lambda path: path.write_text(text)


def _fifo(path):
    os.mkfifo(path)


def _dev_zero(path):
    path.symlink_to("/dev/zero")


def _directory(path):
    path.mkdir()
    (path / "inside.yaml").write_text("name: inside\n")


def _huge(path):
    # 400,000 keys, 6.2 MB: the 68-second file
    with open(path, "w") as fh:
        fh.write("name: huge\nprofile: nano\n")
        for i in range(400_000):
            fh.write(f"key_{i:07d}: {i}\n")


DEVICE_CASES = {
    "billion-laughs": (_write(laughs()), "more than 20000 YAML values"),
    "recursive-alias": (_write("name: &n [*n]\nprofile: nano\n"), "recursive"),
    "deep-nesting": (_write("name: " + "[" * 50_000 + "\n"), "nest"),
    "fifo": (_fifo, "is a named pipe (FIFO), not a regular file"),
    "dev-zero-link": (_dev_zero, "is a character device, not a regular file"),
    "directory": (_directory, "is a directory, not a regular file"),
    "huge": (_huge, "is larger than 1 MiB"),
    "duplicate-key": (_write(DEVICE.format(name="dup") + "profile: orin-nano\n"),
                      "duplicate key 'profile' (first at line 2)"),
    "not-utf8": (lambda path: path.write_bytes(b"name: caf\xe9\nprofile: nano\n"),
                 "bad.yaml:1: the YAML file is not UTF-8 text (byte 0xe9)"),
}


@pytest.mark.parametrize("case", sorted(DEVICE_CASES))
@pytest.mark.parametrize("command", ["devices", "deploy"])
def test_a_hostile_device_file_is_one_line_fast(tmp_path, baseline, case, command):
    make, expected = DEVICE_CASES[case]
    path = devices_dir(tmp_path) / "bad.yaml"
    make(path)
    args = ["devices"] if command == "devices" else ["deploy", "model.onnx", "--device", "bad"]
    proc, seconds = run_cli(args, tmp_path / "config")
    line = one_error_line(proc)
    assert f"{path}" in line and expected in line, line
    assert seconds < baseline + 2.0, f"{seconds:.1f} s (a clean run takes {baseline:.1f} s)"


@pytest.mark.parametrize("change, expected", [
    ("alphas: [abc, def]", "mobilenet_v1.yaml:7: alphas[0] must be a number, not 'abc'"),
    ("input_sizes: [big]", "mobilenet_v1.yaml:9: input_sizes[0] must be an integer, not 'big'"),
    ("input_sizes: [[128]]", "mobilenet_v1.yaml:9: input_sizes[0] must be an integer, not [128]"),
    ("input_sizes: [128, 5000]", "mobilenet_v1.yaml:9: input_sizes[1] 5000 is out of range"),
    ("alphas: [0.25, .nan]", "mobilenet_v1.yaml:7: alphas[1] must be a number, not nan"),
    ("alphas: [true]", "mobilenet_v1.yaml:7: alphas[0] must be a number, not True"),
    ("default_precisions: [fp32, [fp16]]", "default_precisions[1] must be text, not ['fp16']"),
    ("default_precisions: [fp32, fp64]", "mobilenet_v1.yaml:13: unknown precision 'fp64'"),
    ("classes: 1.0e+999", "mobilenet_v1.yaml:11: 'classes' must be an integer, not inf"),
    ("input_size: " + "9" * 5000, "mobilenet_v1.yaml:8: a value of 5000 characters"),
])
@pytest.mark.parametrize("command", ["models", "deploy"])
def test_a_wrong_typed_recipe_value_is_one_file_line_line(tmp_path, baseline, change, expected, command):
    key = change.split(":")[0]
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    lines = [change if line.startswith(key + ":") else line for line in RECIPE.splitlines()]
    assert change in lines  # the recipe really has that key: the line numbers above are its lines
    (recipes / "mobilenet_v1.yaml").write_text("\n".join(lines) + "\n")
    args = ["models"] if command == "models" else ["deploy", "mobilenet_v1_0.25_128", "--device", "local"]
    proc, seconds = run_cli(args, tmp_path / "config", recipes=recipes)
    line = one_error_line(proc)
    assert expected in line and str(recipes) in line, line
    assert seconds < baseline + 2.0


def test_a_settings_file_that_is_a_fifo_is_refused_not_waited_for(tmp_path, baseline):
    home = tmp_path / "config"
    (home / "edgetrt").mkdir(parents=True)
    os.mkfifo(home / "edgetrt" / "config.yaml")
    proc, seconds = run_cli(["bench", "--remote", "--json"], home)
    line = one_error_line(proc)
    assert "config.yaml: the YAML file is a named pipe" in line
    assert seconds < baseline + 2.0


@pytest.mark.parametrize("text, line", [
    ("a: 1\nb:\n  c: 2\n  c: 3\n", "x.yaml:4: duplicate key 'c' (first at line 3)"),
    ("? [a, b]\n: 1\n", "x.yaml:1: a key must be plain text, not a list"),
    ("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", f"nested more than {MAX_DEPTH}"),
    ("a: 1\n---\nb: 2\n", "YAML syntax error"),
    ("a: !!python/object:os.system x\n", "x.yaml:1:4: YAML syntax error"),
])
def test_structural_problems_name_the_line(tmp_path, text, line):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert line in str(info.value) and "\n" not in str(info.value)


def test_anchors_and_merges_used_honestly_still_work(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: &l [1, 2]\nagain: *l\n")
    doc = load_yaml(path)
    assert doc.data["other"] == {"x": 1, "y": 3} and doc.data["again"] == [1, 2]


@pytest.mark.parametrize("name", ["m" * 240, "é" * 120, "plain"])
def test_cache_directory_names_are_bounded(name):
    key = "ab" * 32
    first = paths.cache_dir_name(name, key)
    assert len(first.encode()) <= paths.CACHE_NAME_BYTES
    assert first.endswith("-" + key[:16])
    assert first.startswith(name[:50])
    if len((name + key[:17]).encode()) <= paths.CACHE_NAME_BYTES:
        assert first == f"{name}-{key[:16]}"  # short names are not touched
    # two long names differing only past the cut stay apart
    assert paths.cache_dir_name(name + "x", key) != paths.cache_dir_name(name + "y", key)


def test_a_245_character_model_file_name_converts(tmp_path):
    sys.path.insert(0, str(REPO / "tests" / "deploy"))
    sys.path.insert(0, str(REPO / "tests" / "device"))
    from deploy_cli import tiny_onnx

    model = tiny_onnx(tmp_path / ("m" * 240 + ".onnx"))
    assert len(model.name) == 245
    env = dict(os.environ, PYTHONPATH=str(REPO), EDGETRT_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "edgetrt", "convert", str(model), "--json"],
                          capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (artifact,) = (tmp_path / "cache" / "artifacts").iterdir()
    assert len(artifact.name) <= paths.CACHE_NAME_BYTES and (artifact / "manifest.json").is_file()
