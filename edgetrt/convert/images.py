"""Real images → the model's input tensor, with the recipe's preprocessing (numpy + Pillow only).

The modes match keras.applications' ``preprocess_input``:
tf: scale to [-1, 1]; caffe: RGB→BGR and subtract the ImageNet BGR mean; torch: [0, 1] then
normalise by the ImageNet mean/std.
"""

from __future__ import annotations

from pathlib import Path

from edgetrt.errors import MissingDependencyError, ModelFileError, UsageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp")
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def preprocess(pixels: np.ndarray, mode: str) -> np.ndarray:
    """pixels: float32 RGB in [0, 255], shape (..., 3)."""
    # numpy here, not at the top: deploy asks this module only where the photos are
    import numpy as np

    x = pixels.astype(np.float32)
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "caffe":
        return x[..., ::-1] - np.array(_CAFFE_MEAN_BGR, dtype=np.float32)
    if mode == "torch":
        return (x / 255.0 - np.array(_TORCH_MEAN, dtype=np.float32)) / np.array(_TORCH_STD, dtype=np.float32)
    raise UsageError(f"unknown preprocessing {mode!r}; use tf, caffe or torch")


def image_files(directory: Path) -> list[Path]:
    directory = Path(directory)
    if not directory.is_dir():
        raise UsageError(f"--images {directory}: not a directory")
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UsageError(f"--images {directory}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def load_images(files: list[Path], size: int, mode: str) -> np.ndarray:
    """Decode, convert to RGB, resize to size×size (bilinear), preprocess → (N, size, size, 3)."""
    import numpy as np

    try:
        from PIL import Image
    except ImportError as exc:
        raise MissingDependencyError("Pillow is needed to read images", hint="pip install pillow") from exc
    batch = []
    for path in files:
        try:
            with Image.open(path) as img:
                rgb = img.convert("RGB").resize((size, size), Image.BILINEAR)
        except OSError as exc:
            raise ModelFileError(f"cannot read image {path}: {exc}") from exc
        batch.append(np.asarray(rgb, dtype=np.float32))
    return preprocess(np.stack(batch), mode)


def default_images_dir() -> Path:
    """The small set of real photos shipped with the tests (bench's default --images)."""
    return Path(__file__).resolve().parents[2] / "tests" / "data" / "images"
