"""The model zoo by TF-slim names: `mobilenet_v2`, `resnet_v1_50`, `mobilenet_v1_0.25_128`, ..."""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgetrt.config.recipes import Recipe, load_recipe, load_recipes
from edgetrt.errors import UsageError

# TF-slim spells width/resolution variants into the name: mobilenet_v1_0.25_128.
_VARIANT = re.compile(r"^(?P<base>mobilenet_v[12])_(?P<alpha>\d+(?:\.\d+)?)_(?P<size>\d+)$")


@dataclass(frozen=True)
class ModelRequest:
    """A zoo model with its width and resolution settled."""

    name: str          # canonical, e.g. mobilenet_v1_0.25_128
    recipe: Recipe
    alpha: float | None
    input_size: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.input_size, self.input_size, 3)

    def to_dict(self) -> dict:
        return {"name": self.name, "recipe": self.recipe.name, "builder": self.recipe.builder,
                "alpha": self.alpha, "input_size": self.input_size,
                "preprocessing": self.recipe.preprocessing}


def resolve_model(name: str, alpha: float | None = None, input_size: int | None = None) -> ModelRequest:
    """Turn a zoo name (+ optional --alpha/--input-size) into a :class:`ModelRequest`."""
    match = _VARIANT.match(name)
    if match:
        base = match["base"]
        if alpha is not None or input_size is not None:
            raise UsageError(f"{name!r} already names its width and input size; drop --alpha/--input-size")
        alpha, input_size = float(match["alpha"]), int(match["size"])
    else:
        base = name
    recipe = load_recipe(base)
    if not recipe.buildable:
        raise UsageError(f"{recipe.name} cannot be built from tf.keras.applications",
                         hint=" ".join((recipe.unavailable_reason or "").split()))
    if alpha is not None:
        if not recipe.alphas:
            raise UsageError(f"{recipe.name} has no width multiplier; drop --alpha")
        if alpha not in recipe.alphas:
            raise UsageError(f"{recipe.name}: alpha {alpha:g} is not one of "
                             + ", ".join(f"{a:g}" for a in recipe.alphas))
    else:
        alpha = recipe.alpha
    size = input_size if input_size is not None else recipe.input_size
    if not 32 <= size <= 1024:
        raise UsageError(f"input size {size} is out of range (32..1024)")
    canonical = recipe.name
    if recipe.alphas and (alpha != recipe.alpha or size != recipe.input_size):
        canonical = f"{recipe.name}_{_fmt_alpha(alpha)}_{size}"
    elif size != recipe.input_size:
        canonical = f"{recipe.name}_{size}"
    return ModelRequest(canonical, recipe, alpha, size)


def _fmt_alpha(alpha: float) -> str:
    text = f"{alpha:g}"
    return text if "." in text else text + ".0"


def zoo_listing() -> list[dict]:
    """Every recipe, buildable or "bring your own file", for `edgetrt models`."""
    return [r.to_dict() for r in load_recipes().values()]
