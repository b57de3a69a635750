"""Which way this device runs TensorRT, decided from facts the probe also reports.

- TensorRT Python bindings (a module this agent speaks) + a CUDA library (PyCUDA, cuda-python, or
  libcudart.so* itself) -> the Python path (runner.TensorRTRunner);
- otherwise trtexec (JetPack's /usr/src/tensorrt/bin/trtexec, or on PATH) -> trtexec_runner;
- neither -> an error that names the JetPack packages to install.

``choose_from_facts`` is the rule, pure, for the host to apply to the probe's facts; the agent
applies the same rule to what it finds (``choose_runner``). ``options["tensorrt_path"]`` ("python"
or "trtexec") takes one path whatever else is there.
"""

import os

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


#: JetPack's package of the TensorRT Python bindings (for a probe of a sysroot, which cannot import)
BINDINGS_PACKAGE = "python3-libnvinfer"


def probe_facts(root, live, packages, trtexec_on_disk):
    """The facts the host needs to make the agent's choice, as the probe reports them:
    ``{name: {"value", "source"}}`` for tensorrt_bindings, cuda_library and tensorrt_path (and,
    on a live probe, trtexec: JetPack's path or PATH).

    ``live``: the probe describes this machine (it may import modules and ask the loader);
    otherwise ``root`` is a copy of a device's files and only files and packages are read.
    ``packages``: {package: version}; ``trtexec_on_disk``: JetPack's trtexec under ``root``, or None.
    """
    from . import cudart
    from .cuda import available_cuda
    from .library import generation_for, UnsupportedTensorRT
    from .trtexec import find_trtexec

    if live:
        bindings, why_not = find_bindings({})
        bindings_source = "python module {}".format(bindings["module"]) if bindings else None
        cuda = available_cuda({})
        cuda_source = "importlib / libcudart search" if cuda else None
        trtexec = find_trtexec({})
    else:
        bindings, why_not, bindings_source = None, "no {} package".format(BINDINGS_PACKAGE), None
        if BINDINGS_PACKAGE in packages:
            version = packages[BINDINGS_PACKAGE].split("-")[0]
            try:
                api = generation_for("tensorrt", version).name
            except UnsupportedTensorRT as exc:
                api, why_not = None, str(exc)
            if api:
                bindings = {"module": "tensorrt", "flavour": "tensorrt", "version": version, "api": api}
                bindings_source = "package {}".format(BINDINGS_PACKAGE)
        found = cudart.find_libcudart(root=root, search_path=[])
        cuda = {"kind": "cudart", "detail": "/" + os.path.relpath(found, root)} if found else None
        cuda_source = "files under {}".format(root) if cuda else None
        trtexec = trtexec_on_disk
    choice = choose_from_facts(bindings, cuda, trtexec, None, why_not)
    facts = {
        "tensorrt_bindings": {"value": bindings, "source": bindings_source},
        "cuda_library": {"value": cuda, "source": cuda_source},
        "tensorrt_path": {"value": choice, "source": "rule: backends/tensorrt/path.choose_from_facts"},
    }
    if live:
        facts["trtexec"] = {"value": trtexec, "source": "JetPack's path, then PATH" if trtexec else None}
    return facts
