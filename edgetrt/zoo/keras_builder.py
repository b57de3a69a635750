"""Build a zoo model with tf.keras.applications (imports TensorFlow: heavy, import lazily)."""

from __future__ import annotations

from dataclasses import dataclass

from edgetrt.errors import ConversionError, ModelFileError
from edgetrt.zoo.registry import ModelRequest
from edgetrt.hashing import sha256_file
from edgetrt.zoo.weights import WeightsChoice, check_hdf5


@dataclass(frozen=True)
class WeightsUsed:
    requested: str
    kind: str                 # imagenet | random | file
    path: str | None = None
    sha256: str | None = None
    warning: str | None = None

    def to_dict(self) -> dict:
        return {"requested": self.requested, "kind": self.kind, "path": self.path,
                "sha256": self.sha256, "warning": self.warning}


def _constructor(keras, builder: str):
    return getattr(keras.applications, builder)


def build_keras_model(request: ModelRequest, weights: WeightsChoice):
    """Return (keras model, WeightsUsed)."""
    from edgetrt.lazy import import_tensorflow

    tf, keras = import_tensorflow()
    ctor = _constructor(keras, request.recipe.builder)
    kwargs = {"input_shape": request.input_shape, "include_top": True,
              "classes": request.recipe.classes}
    if request.alpha is not None:
        kwargs["alpha"] = request.alpha

    if weights.mode == "file":
        check_hdf5(weights.path)
        try:
            model = ctor(weights=str(weights.path), **kwargs)
        except (ValueError, OSError, KeyError, TypeError) as exc:
            raise ModelFileError(
                f"weights file {weights.path} does not fit {request.name}: {_one_line(exc)}",
                hint="the file must be Keras weights for the same architecture, width and input size",
            ) from exc
        return model, WeightsUsed(weights.mode, "file", str(weights.path), sha256_file(weights.path))

    if weights.mode in ("imagenet", "auto"):
        try:
            model = ctor(weights="imagenet", **kwargs)
            return model, WeightsUsed(weights.mode, "imagenet")
        except ValueError as exc:
            # Keras refuses sizes/widths it has no ImageNet weights for.
            problem = f"Keras has no ImageNet weights for {request.name}: {_one_line(exc)}"
        except Exception as exc:  # noqa: BLE001 - Keras raises bare Exception for fetch failures
            problem = f"could not get ImageNet weights for {request.name}: {_one_line(exc)}"
        if weights.mode == "imagenet":
            raise ConversionError(problem, hint="pass --weights PATH to a local .h5 file, or "
                                  "--weights random to measure speed only")
        warning = (f"{problem}. USING RANDOM WEIGHTS: timings are valid, predictions are "
                   "meaningless. Pass --weights PATH for real weights.")
        model = ctor(weights=None, **kwargs)
        return model, WeightsUsed(weights.mode, "random", warning=warning)

    model = ctor(weights=None, **kwargs)
    return model, WeightsUsed(weights.mode, "random")


def _one_line(exc: BaseException, limit: int = 240) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
