"""INT8 calibration (implicit quantization) from preprocessed real images shipped by the host.

The host writes the images as one ``.npy`` array, already preprocessed exactly as the model's
input (N, H, W, C float32 for the zoo's NHWC models); its path arrives as
``options["calibration_npy"]``. TensorRT's IInt8EntropyCalibrator2 pulls batches through
``get_batch`` and stores its scales with ``write_calibration_cache``; the cache is kept next to
the engine, so a rebuild (corrupt engine, OOM retry) skips calibration.

Implicit quantization is deprecated from TensorRT 10.1 (explicit Q/DQ is the way on); the
calibrator still exists there.
"""

from .engine_cache import atomic_write, read_bytes


class CalibrationData(object):
    """The calibration images, checked against the model's input shape (without batch)."""

    def __init__(self, npy_path, input_shape, batch, np):
        images = np.load(npy_path)
        if tuple(images.shape[1:]) != tuple(input_shape):
            raise ValueError("calibration images in {} have shape {}; the model's input is "
                             "(N, {})".format(npy_path, list(images.shape),
                                              ", ".join(str(d) for d in input_shape)))
        if images.shape[0] < batch:
            raise ValueError("calibration needs at least {} images; {} holds {}".format(
                batch, npy_path, images.shape[0]))
        self.images = np.ascontiguousarray(images, dtype=np.float32)
        self.batch = int(batch)
        self.path = npy_path


def make_entropy_calibrator(trt, cuda, data, cache_path, np):
    """An ``IInt8EntropyCalibrator2`` over ``data`` (CalibrationData) using ``cuda`` buffers."""

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.sample_shape = tuple(data.images.shape[1:])
            self.batches_served = 0
            self._next = 0
            self._host = cuda.pinned((data.batch,) + self.sample_shape, np.float32)
            self._device = cuda.alloc(self._host.nbytes)

        def get_batch_size(self):
            return data.batch

        def get_batch(self, names, p_str=None):
            end = self._next + data.batch
            if end > data.images.shape[0]:
                return None  # a partial last batch is dropped: TensorRT wants full batches
            np.copyto(self._host, data.images[self._next:end])
            cuda.htod(self._device, self._host)
            cuda.synchronize()
            self._next = end
            self.batches_served += 1
            return [self._device]

        def read_calibration_cache(self):
            return read_bytes(cache_path) or None

        def write_calibration_cache(self, cache):
            atomic_write(cache_path, bytes(memoryview(cache)))

    return EntropyCalibrator()
