"""What the user named: a zoo model or a model file (SavedModel dir, frozen .pb, Keras file, ONNX)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgetrt.errors import UsageError
from edgetrt.zoo.registry import ModelRequest, resolve_model

@dataclass(frozen=True)
class ModelOptions:
    """What the user asked to convert: a zoo name or a model file, and how (the CLI's model flags)."""

    model: str
    weights: str = "auto"
    alpha: float | None = None
    input_size: int | None = None
    input_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    preprocessing: str | None = None
    force: bool = False
    calibration_images: Path | None = None
    #: "NHWC" or "NCHW" for an image input; None: read it from the model's input shape
    layout: str | None = None

    def resolve(self) -> "ModelSource":
        return resolve_source(self.model, alpha=self.alpha, input_size=self.input_size,
                              input_names=list(self.input_names), output_names=list(self.output_names),
                              preprocessing=self.preprocessing, layout=self.layout)


@dataclass(frozen=True)
class ModelSource:
    kind: str
    name: str
    request: ModelRequest | None = None
    path: Path | None = None
    input_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    preprocessing: str = "tf"
    input_size: int | None = None
    layout: str | None = None
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "name": self.name, "preprocessing": self.preprocessing}
        if self.layout:
            d["layout"] = self.layout
        if self.request:
            d.update(self.request.to_dict())
        if self.path:
            d["path"] = str(self.path)
        if self.input_names:
            d["input_names"] = list(self.input_names)
            d["output_names"] = list(self.output_names)
        return d


def _looks_like_path(value: str) -> bool:
    return "/" in value or value.startswith(".") or Path(value).suffix.lower() in (
        ".pb", ".h5", ".hdf5", ".keras", ".onnx")


def resolve_source(model: str, *, alpha: float | None = None, input_size: int | None = None,
                   input_names: list[str] | None = None, output_names: list[str] | None = None,
                   preprocessing: str | None = None, layout: str | None = None) -> ModelSource:
    from dataclasses import replace

    if layout is not None and layout.upper() not in IMAGE_LAYOUTS:
        raise UsageError(f"--layout {layout!r}: choose {' or '.join(IMAGE_LAYOUTS)}")
    source = _resolve(model, alpha, input_size, input_names, output_names, preprocessing)
    return replace(source, layout=layout.upper()) if layout else source


IMAGE_LAYOUTS = ("NHWC", "NCHW")


def image_layout(shape) -> str | None:
    """The layout of an image input from its shape: [N, H, W, 3] is NHWC (TensorFlow's), [N, 3, H, W]
    NCHW (PyTorch's, YOLO's); anything else (not 4-D, no 1- or 3-channel axis) is no image."""
    if not shape or len(shape) != 4:
        return None
    if shape[3] in (1, 3):
        return "NHWC"
    if shape[1] in (1, 3):
        return "NCHW"
    return None


def _resolve(model, alpha, input_size, input_names, output_names, preprocessing) -> ModelSource:
    path = Path(model).expanduser()
    if path.exists() or _looks_like_path(model):
        if not path.exists():
            raise UsageError(f"model file {model!r} does not exist")
        return _file_source(path, input_size, input_names, output_names, preprocessing)
    if input_names or output_names:
        raise UsageError("--input/--output name the tensors of a frozen graph file, not a zoo model")
    request = resolve_model(model, alpha=alpha, input_size=input_size)
    prep = preprocessing or request.recipe.preprocessing
    return ModelSource("zoo", request.name, request=request, preprocessing=prep)


def _file_source(path, input_size, input_names, output_names, preprocessing) -> ModelSource:
    name = path.stem if path.is_file() else path.name
    prep = preprocessing or "tf"
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise UsageError(f"{path} is a directory without saved_model.pb (not a SavedModel)")
        return ModelSource("savedmodel", name, path=path, preprocessing=prep, input_size=input_size)
    suffix = path.suffix.lower()
    if suffix == ".pb":
        if not input_names or not output_names:
            raise UsageError(f"{path} is a frozen graph: name its tensors with --input and --output",
                             hint="e.g. --input input:0 --output MobilenetV2/Predictions/Reshape_1:0")
        return ModelSource("frozen_graph", name, path=path, input_names=tuple(input_names),
                           output_names=tuple(output_names), preprocessing=prep, input_size=input_size)
    if suffix in (".h5", ".hdf5", ".keras"):
        return ModelSource("keras", name, path=path, preprocessing=prep, input_size=input_size)
    if suffix == ".onnx":
        return ModelSource("onnx", name, path=path, preprocessing=prep, input_size=input_size)
    raise UsageError(f"{path}: unknown model file type {suffix or '(none)'}",
                     hint="give a zoo name, a SavedModel directory, a .pb with --input/--output, "
                     "a Keras .h5/.keras file or an .onnx file")
