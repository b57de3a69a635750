"""Which way this device runs TensorRT, decided from facts the probe also reports.

- TensorRT Python bindings (a module this agent speaks) + a CUDA library (PyCUDA, cuda-python, or
  libcudart.so* itself) -> the Python path (runner.TensorRTRunner);
- otherwise trtexec (JetPack's /usr/src/tensorrt/bin/trtexec, or on PATH) -> trtexec_runner;
- neither -> an error that names the JetPack packages to install.

``choose_from_facts`` is the rule, pure, for the host to apply to the probe's facts; the agent
applies the same rule to what it finds (``choose_runner``). ``options["tensorrt_path"]`` ("python"
or "trtexec") takes one path whatever else is there.
"""

from ..base import BackendUnavailable

INSTALL_HINT = ("install the TensorRT Python bindings (JetPack: sudo apt-get install "
                "python3-libnvinfer) for the Python path, or trtexec (JetPack: sudo apt-get install "
                "libnvinfer-bin, which puts it at /usr/src/tensorrt/bin/trtexec)")


def choose_from_facts(bindings, cuda_library, trtexec, forced=None, bindings_missing=None):
    """``{"path": "python"|"trtexec"|None, "why": ...}`` from three facts.

    ``bindings``: {"module", "flavour", "version"} of a usable TensorRT module, or None (then
    ``bindings_missing`` says why); ``cuda_library``: {"kind", "detail"} or None; ``trtexec``: its
    path or None; ``forced``: "python" or "trtexec" to take that path only."""
    if forced == "python" or (forced is None and bindings and cuda_library):
        if not bindings:
            return {"path": None, "why": "the python path was asked for but there is no TensorRT "
                                         "Python module: " + INSTALL_HINT}
        return {"path": "python", "why": "TensorRT Python bindings ({} {}) and a CUDA library ({}: "
                                         "{})".format(bindings["module"], bindings["version"],
                                                      (cuda_library or {}).get("kind"),
                                                      (cuda_library or {}).get("detail"))}
    missing = []
    if not bindings:
        missing.append(bindings_missing or "no usable TensorRT Python module")
    elif not cuda_library:
        missing.append("TensorRT Python bindings ({} {}) but no CUDA library for device buffers "
                       "(no PyCUDA, cuda-python or libcudart.so*)".format(bindings["module"],
                                                                          bindings["version"]))
    if forced == "trtexec":
        missing = ["options tensorrt_path asks for trtexec"]
    if trtexec:
        return {"path": "trtexec", "why": "{}; trtexec at {}".format("; ".join(missing), trtexec)}
    return {"path": None, "why": "{} and no trtexec: {}".format("; ".join(missing) or
                                                                "trtexec asked for", INSTALL_HINT)}


def find_bindings(options):
    """({"module", "flavour", "version", "api"}, None) for the TensorRT module a run would use,
    or (None, why not). Imports it (a broken install raises with its own words)."""
    from .library import TensorRTLibrary, UnsupportedTensorRT, import_tensorrt

    names = [options["tensorrt_module"]] if options.get("tensorrt_module") else None
    module, why_not = import_tensorrt(names)
    if module is None:
        return None, why_not
    try:
        return TensorRTLibrary(module).describe(), None
    except UnsupportedTensorRT as exc:
        return None, str(exc)


def device_facts(options):
    """The three facts the rule needs, as found by this process, plus the rule's answer."""
    from .cuda import available_cuda
    from .trtexec import find_trtexec

    bindings, why_not = find_bindings(options)
    facts = {"bindings": bindings, "bindings_missing": why_not,
             "cuda_library": available_cuda(options), "trtexec": find_trtexec(options)}
    facts["choice"] = choose_from_facts(bindings, facts["cuda_library"], facts["trtexec"],
                                        options.get("tensorrt_path"), why_not)
    return facts


def choose_runner(options):
    """(runner class, {"path", "why"}) for this device; BackendUnavailable when neither path is."""
    facts = device_facts(options)
    choice = facts["choice"]
    if choice["path"] == "python":
        from .runner import TensorRTRunner

        return TensorRTRunner, choice
    if choice["path"] == "trtexec":
        from .trtexec_runner import TrtexecRunner

        return TrtexecRunner, choice
    raise BackendUnavailable("TensorRT cannot run here: " + choice["why"])
