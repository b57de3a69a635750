"""ONNX Runtime: CPU everywhere; CUDA / TensorRT execution providers when the build has them."""

import os
import platform

from .base import BackendUnavailable, Runner, UnsupportedPrecision

# Preferred order: the fastest provider this onnxruntime build offers comes first.
_PROVIDER_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")

# Where the CPU's feature flags are read; a module attribute so that a test can point it at the
# flags of another CPU.
CPUINFO = "/proc/cpuinfo"
_VNNI_FLAGS = ("avx512_vnni", "avx_vnni")
# ONNX Runtime's x86 INT8 kernels without VNNI multiply unsigned by signed bytes with VPMADDUBSW,
# which saturates each pair's sum at 16 bits. The TensorRT-shaped model's symmetric INT8
# activations become bytes near 128..255 there, so nearly every pair saturates: measured on
# MobileNet v1 0.25 (AMD EPYC without VNNI, and EPYC-Rome under QEMU), top-1 0 of 4 photos
# against 4 of 4 on a CPU with VNNI. This session option makes ONNX Runtime use exact U8U8
# kernels instead; it costs time (1.23x on this model where VNNI makes it unnecessary), so it is
# set only where the CPU lacks VNNI. TensorRT accumulates INT8 in 32 bits, as the exact kernels do.
_EXACT_INT8_CONFIG = ("session.x64quantprecision", "1")


def int8_session_config(machine=None, cpuinfo=None):
    """Session config entries (key, value) that make ONNX Runtime's INT8 arithmetic exact on this
    CPU: none on CPUs with VNNI or not x86 (where the option does nothing), the exact-kernel option
    on x86 CPUs without VNNI or whose flags cannot be read."""
    machine = (machine or platform.machine()).lower()
    if machine not in ("x86_64", "amd64", "i686", "i386", "x86"):
        return []
    if cpuinfo is None:
        try:
            with open(CPUINFO) as f:
                cpuinfo = f.read()
        except OSError:
            return [_EXACT_INT8_CONFIG]
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    if any(flag in flags for flag in _VNNI_FLAGS):
        return []
    return [_EXACT_INT8_CONFIG]


def exact_int8_options(opts):
    """Add int8_session_config()'s entries to the SessionOptions ``opts``; the entries added."""
    entries = int8_session_config()
    for key, value in entries:
        opts.add_session_config_entry(key, value)
    return entries


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"
    can_profile = True  # with options["profile"]: ONNX Runtime's own profiler, read at the end

    def _activate(self):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            # Only a missing module means 'not installed'; a library that fails to load
            # (e.g. cannot map memory under a limit) must reach the classifier as is.
            if getattr(exc, "name", None) == "onnxruntime" and "No module named" in str(exc):
                raise BackendUnavailable("onnxruntime is not installed on this device")
            raise
        available = ort.get_available_providers()
        wanted = self.options.get("providers")
        providers = [p for p in (wanted or _PROVIDER_ORDER) if p in available]
        if not providers:
            raise BackendUnavailable("none of the providers {} are in this onnxruntime ({})".format(
                wanted, ", ".join(available)))
        provider_options = [{} for _ in providers]
        if self.precision == "fp32":
            fmt = "onnx"
        elif self.precision == "int8":
            fmt = "onnx_int8"  # explicit QDQ quantization made on the host
        elif self.precision == "fp16":
            if "TensorrtExecutionProvider" not in providers:
                raise UnsupportedPrecision(
                    "fp16 with onnxruntime needs its TensorRT execution provider; this build has "
                    + ", ".join(available))
            fmt = "onnx"
            provider_options[providers.index("TensorrtExecutionProvider")]["trt_fp16_enable"] = True
        else:
            raise UnsupportedPrecision("onnxruntime: unknown precision {}".format(self.precision))
        path = self.artifact_path(fmt)
        opts = ort.SessionOptions()
        threads = self.options.get("intra_op_threads")
        if threads:
            opts.intra_op_num_threads = int(threads)
        exact = exact_int8_options(opts) if self.precision == "int8" else []
        if self.options.get("profile"):
            opts.enable_profiling = True
            opts.profile_file_prefix = self.options.get("profile_prefix", "ort_profile")
        self.session = ort.InferenceSession(path, sess_options=opts, providers=providers,
                                            provider_options=provider_options)
        self.facts["onnxruntime"] = ort.__version__
        self.facts["providers"] = self.session.get_providers()
        if self.precision == "int8":
            # which INT8 kernels ran: the fast ones, or the exact ones where the fast would saturate
            self.facts["int8_exact_kernels"] = bool(exact)
        self._input_names = [i.name for i in self.session.get_inputs()]

    def _infer(self, feed):
        if len(feed) == 1 and len(self._input_names) == 1:
            feed = {self._input_names[0]: list(feed.values())[0]}
        return self.session.run(None, feed)

    def profile(self, feed):
        """Per-node times from ONNX Runtime's profiler trace of this session's inferences."""
        from ..profile_ort import parse_ort_profile

        if not self.options.get("profile"):
            raise RuntimeError("onnxruntime profiles only a session made with options profile")
        trace = self.session.end_profiling()
        try:
            return parse_ort_profile(trace)
        finally:
            os.remove(trace)

    def _deactivate(self):
        self.session = None
