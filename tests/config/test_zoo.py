import pytest

from edgetrt.errors import UsageError
from edgetrt.zoo.registry import resolve_model, zoo_listing


def test_slim_variant_names_set_width_and_resolution():
    req = resolve_model("mobilenet_v1_0.25_128")
    assert (req.recipe.name, req.alpha, req.input_size, req.name) == ("mobilenet_v1", 0.25, 128,
                                                                        "mobilenet_v1_0.25_128")
    assert resolve_model("mobilenet_v1", alpha=0.25, input_size=128).name == "mobilenet_v1_0.25_128"
    assert resolve_model("mobilenet_v2").name == "mobilenet_v2"
    assert resolve_model("inception_v3").input_shape == (299, 299, 3)


def test_unknown_and_unbuildable_names_are_clear():
    with pytest.raises(UsageError, match="unknown model 'mobilenet_v3'") as info:
        resolve_model("mobilenet_v3")
    assert "mobilenet_v1" in info.value.hint or "mobilenet_v2" in info.value.hint
    with pytest.raises(UsageError, match="inception_v4 cannot be built") as info:
        resolve_model("inception_v4")
    assert ".pb" in info.value.hint
    with pytest.raises(UsageError, match="alpha 0.3"):
        resolve_model("mobilenet_v1", alpha=0.3)
    with pytest.raises(UsageError, match="no width multiplier"):
        resolve_model("vgg_16", alpha=0.5)


def test_listing_includes_bring_your_own():
    names = {m["name"]: m for m in zoo_listing()}
    assert len(names) == 15
    assert names["inception_v1"]["buildable"] is False
