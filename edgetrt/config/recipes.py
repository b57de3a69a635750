"""Model recipes: data/recipes/<name>.yaml → validated, frozen :class:`Recipe`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from edgetrt.config import paths
from edgetrt.config.names import check_name, unknown_name
from edgetrt.config.yamlfile import check_keys, expect_list, expect_type, load_yaml, require_mapping
from edgetrt.errors import ConfigError

#: recipe `builder` values → tf.keras.applications constructors (a whitelist, never an import path)
KERAS_BUILDERS = (
    "MobileNet", "MobileNetV2", "InceptionV3", "InceptionResNetV2",
    "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2",
    "VGG16", "VGG19",
)
PREPROCESSING_MODES = ("tf", "caffe", "torch")
PRECISIONS = ("fp32", "fp16", "int8")

_KEYS = ("name", "description", "slim_name", "builder", "alpha", "alphas", "input_size",
         "input_sizes", "preprocessing", "classes", "output", "default_precisions",
         "unavailable_reason")


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    slim_name: str
    builder: str | None
    input_size: int
    preprocessing: str
    classes: int
    output: str
    default_precisions: tuple[str, ...]
    alpha: float | None = None
    alphas: tuple[float, ...] = ()
    input_sizes: tuple[int, ...] = ()
    unavailable_reason: str | None = None
    source: str = ""

    @property
    def buildable(self) -> bool:
        return self.builder is not None

    def to_dict(self) -> dict:
        return {
            "name": self.name, "description": self.description, "slim_name": self.slim_name,
            "builder": self.builder, "input_size": self.input_size, "alpha": self.alpha,
            "alphas": list(self.alphas), "input_sizes": list(self.input_sizes),
            "preprocessing": self.preprocessing, "classes": self.classes, "output": self.output,
            "default_precisions": list(self.default_precisions), "buildable": self.buildable,
            "unavailable_reason": self.unavailable_reason, "source": self.source,
        }


def parse_recipe(path: Path) -> Recipe:
    doc = load_yaml(path)
    data = require_mapping(doc, doc.data)
    check_keys(doc, data, _KEYS)
    name = expect_type(doc, data, "name", str, required=True)
    check_name(name, "recipe name", where=doc.where("name"))
    if name != Path(path).stem:
        raise ConfigError(f"{doc.where('name')}: name {name!r} differs from the file name "
                          f"{Path(path).stem!r}")
    builder = data.get("builder")
    if builder is not None and builder not in KERAS_BUILDERS:
        guess = difflib.get_close_matches(str(builder), KERAS_BUILDERS, n=1)
        raise ConfigError(f"{doc.where('builder')}: unknown builder {builder!r}",
                          hint=f"did you mean {guess[0]!r}?" if guess else
                          "one of: " + ", ".join(KERAS_BUILDERS))
    if builder is None and not data.get("unavailable_reason"):
        raise ConfigError(f"{doc.where('builder')}: a recipe without a builder needs "
                          "'unavailable_reason' (what the user should bring instead)")
    input_size = expect_type(doc, data, "input_size", int, required=True)
    _check_input_size(doc, input_size, "input_size")
    prep = expect_type(doc, data, "preprocessing", str, required=True)
    if prep not in PREPROCESSING_MODES:
        raise ConfigError(f"{doc.where('preprocessing')}: preprocessing must be one of "
                          + ", ".join(PREPROCESSING_MODES))
    precisions = tuple(expect_list(doc, data, "default_precisions", str) or ["fp32"])
    for i, p in enumerate(precisions):
        if p not in PRECISIONS:
            raise ConfigError(f"{doc.where('default_precisions', i)}: unknown precision {p!r}",
                              hint="one of: " + ", ".join(PRECISIONS))
    alpha = expect_type(doc, data, "alpha", (int, float))
    if alpha is not None:
        _check_alpha(doc, alpha, "alpha")
    alphas = expect_list(doc, data, "alphas", (int, float)) or []
    for i, a in enumerate(alphas):
        _check_alpha(doc, a, "alphas", i)
    input_sizes = expect_list(doc, data, "input_sizes", int) or []
    for i, size in enumerate(input_sizes):
        _check_input_size(doc, size, "input_sizes", i)
    classes = expect_type(doc, data, "classes", int)
    if classes is not None and not 1 <= classes <= 1_000_000:
        raise ConfigError(f"{doc.where('classes')}: classes {classes} is out of range (1 to 1000000)")
    return Recipe(
        name=name,
        description=expect_type(doc, data, "description", str) or "",
        slim_name=expect_type(doc, data, "slim_name", str) or name,
        builder=builder,
        input_size=input_size,
        preprocessing=prep,
        classes=classes or 1000,
        output=expect_type(doc, data, "output", str) or "probabilities",
        default_precisions=precisions,
        alpha=float(alpha) if alpha is not None else None,
        alphas=tuple(float(a) for a in alphas),
        input_sizes=tuple(input_sizes),
        unavailable_reason=expect_type(doc, data, "unavailable_reason", str),
        source=str(path),
    )


def _check_alpha(doc, alpha, key, *index) -> None:
    if not 0 < alpha <= 4:
        label = f"{key}[{index[0]}]" if index else key
        raise ConfigError(f"{doc.where(key, *index)}: {label} {alpha!r} is out of range "
                          "(a width multiplier above 0 and at most 4)")


def _check_input_size(doc, size, key, *index) -> None:
    if not 32 <= size <= 1024:
        label = f"{key}[{index[0]}]" if index else key
        raise ConfigError(f"{doc.where(key, *index)}: {label} {size} is out of range (32 to 1024)")


def recipe_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in reversed(paths.recipe_dirs()):  # earlier dirs override later ones
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found[path.stem] = path
    return found


def load_recipes() -> dict[str, Recipe]:
    return {name: parse_recipe(path) for name, path in sorted(recipe_files().items())}


def load_recipe(name: str) -> Recipe:
    check_name(name, "model name")
    files = recipe_files()
    if name not in files:
        raise unknown_name("model", name, files, "`edgetrt models` lists the zoo; a path to a model file also works")
    return parse_recipe(files[name])
