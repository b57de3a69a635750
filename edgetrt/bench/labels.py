"""ImageNet class names for the predictions tables (Keras' 1000-class index, shipped as data).

TF-slim checkpoints trained with a background class have 1001 outputs; index 0 is "background"
and every other index is one more than Keras'.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "imagenet_class_index.json"


@functools.lru_cache(maxsize=1)
def imagenet_names() -> tuple[str, ...]:
    """The 1000 names in Keras' order, underscores shown as spaces ('African elephant')."""
    with open(DATA_FILE, encoding="utf-8") as fh:
        index = json.load(fh)
    return tuple(index[str(i)][1].replace("_", " ") for i in range(len(index)))


def class_name(index: int, classes: int = 1000) -> str:
    """The name of an output index; the index itself (as text) when it is out of range."""
    names = imagenet_names()
    index = int(index)
    if classes == len(names) + 1:
        if index == 0:
            return "background"
        index -= 1
    if 0 <= index < len(names):
        return names[index]
    return str(index)
