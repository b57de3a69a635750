"""Recipes and device files: every shipped one parses; broken ones fail with file:line."""

import pytest

from edgetrt.config import devices, recipes
from edgetrt.config.yamlfile import load_yaml
from edgetrt.errors import ConfigError, UsageError


def test_every_shipped_recipe_and_device_parses():
    all_recipes = recipes.load_recipes()
    for name in ("mobilenet_v1", "mobilenet_v2", "inception_v3", "resnet_v1_50", "resnet_v1_101",
                 "resnet_v1_152", "resnet_v2_50", "resnet_v2_101", "resnet_v2_152", "vgg_16",
                 "vgg_19", "inception_resnet_v2"):
        assert all_recipes[name].buildable, name
    for name in ("inception_v1", "inception_v2", "inception_v4"):
        assert not all_recipes[name].buildable
        assert "bring" in all_recipes[name].unavailable_reason.lower() or \
            "export" in all_recipes[name].unavailable_reason.lower()
    all_devices = devices.load_devices()
    assert all_devices["local"].is_local
    assert all_devices["nano"].facts["compute_capability"] == "5.3"
    assert all_devices["nano"].facts["fast_int8"] is False


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    bad = tmp_path / "mobilenet_v9.yaml"
    bad.write_text("name: mobilenet_v9\nbuilder: MobileNet\ninput_size: [224\npreprocessing: tf\n")
    with pytest.raises(ConfigError) as info:
        recipes.parse_recipe(bad)
    assert f"{bad}:" in str(info.value)
    line = int(str(info.value).split(f"{bad}:")[1].split(":")[0])
    assert line in (3, 4)


def test_unknown_key_says_did_you_mean_with_line(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("name: m\nbuilder: MobileNet\ninput_size: 224\npreprocesing: tf\n")
    with pytest.raises(ConfigError) as info:
        recipes.parse_recipe(bad)
    assert str(info.value).startswith(f"{bad}:4:")
    assert "preprocessing" in info.value.hint


def test_unknown_builder_is_refused(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("name: m\nbuilder: os.system\ninput_size: 224\npreprocessing: tf\n")
    with pytest.raises(ConfigError, match=r"m.yaml:2: unknown builder"):
        recipes.parse_recipe(bad)


def test_device_file_errors_carry_lines(tmp_path):
    bad = tmp_path / "jet.yaml"
    bad.write_text("name: jet\nprofile: nano\nconnection:\n  host: 10.0.0.2\n  port: 99999\n")
    with pytest.raises(ConfigError, match=r"jet.yaml:5: port 99999"):
        devices.parse_device(bad)
    bad.write_text("name: jet\nprofile: nanoo\nconnection: {ssh: jet}\n")
    with pytest.raises(ConfigError) as info:
        devices.parse_device(bad)
    assert "jet.yaml:2" in str(info.value) and "nano" in info.value.hint
    bad.write_text("name: jet\nprofile: nano\n")
    with pytest.raises(ConfigError, match="no 'connection'"):
        devices.parse_device(bad)


def test_user_device_directory_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "edgetrt" / "devices").mkdir(parents=True)
    (tmp_path / "edgetrt" / "devices" / "bench-nano.yaml").write_text(
        "name: bench-nano\nprofile: nano\nconnection:\n  host: 127.0.0.1\n  port: 2222\n  user: me\n")
    spec = devices.load_device("bench-nano")
    assert spec.connection.port == 2222 and spec.facts["memory_mb"] == 4096


def test_unknown_device_suggests(monkeypatch):
    with pytest.raises(UsageError) as info:
        devices.load_device("nanoo")
    assert "nano" in info.value.hint


def test_yaml_lines_are_recorded(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("a: 1\nb:\n  c: 2\n")
    doc = load_yaml(f)
    assert doc.lines[("b", "c")] == 3
    assert doc.where("b", "c") == f"{f}:3"
