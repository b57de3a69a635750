"""Collect the facts of the device the agent runs on: module, L4T/JetPack, TensorRT, CUDA, cuDNN,
memory, power mode, Python and the runtimes it can import.

Every file read is listed in FILES below and read under ``root``, so a test (or a copy of a device's
files) can stand in for "/". Each fact is ``{"value": ..., "source": ...}``: the value is None when
nothing answered, and the source names the file, command, module or table that gave it. Facts that
describe the running interpreter (Python version, importable runtimes, the ``tensorrt`` module) and
the ``dpkg-query`` command only describe the device when ``root`` is "/", so they are read only then.
Nothing here raises: a file that cannot be read is recorded in ``notes``. The TensorRT path facts
(bindings, CUDA library, which path the agent would take) come from backends/tensorrt/path.py,
the rule the agent itself applies; the CUDA library directories it searches are listed once, in
backends/tensorrt/cudart.py.
"""

import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys

from . import jetson
from .parsers import dpkg, meminfo, nv_tegra_release, nvpmodel

SCHEMA = 1

# Every file the probe reads, in one place: (key, path under root).
FILES = (
    ("model", "/proc/device-tree/model"),
    ("compatible", "/proc/device-tree/compatible"),
    ("dtsfilename", "/proc/device-tree/nvidia,dtsfilename"),
    ("nv_tegra_release", "/etc/nv_tegra_release"),
    ("meminfo", "/proc/meminfo"),
    ("nvpmodel_conf", "/etc/nvpmodel.conf"),
    ("nvpmodel_status", "/var/lib/nvpmodel/status"),
    ("dpkg_status", "/var/lib/dpkg/status"),
    ("cuda_version_json", "/usr/local/cuda/version.json"),
    ("cuda_version_txt", "/usr/local/cuda/version.txt"),
    ("cudnn_version_h", "/usr/include/cudnn_version.h"),
    ("cudnn_version_h_aarch64_v9", "/usr/include/aarch64-linux-gnu/cudnn_version_v9.h"),
    ("cudnn_version_h_aarch64_v8", "/usr/include/aarch64-linux-gnu/cudnn_version_v8.h"),
    ("cudnn_h", "/usr/include/cudnn.h"),
    ("nvinfer_version_h_aarch64", "/usr/include/aarch64-linux-gnu/NvInferVersion.h"),
    ("nvinfer_version_h", "/usr/include/NvInferVersion.h"),
    ("trtexec", "/usr/src/tensorrt/bin/trtexec"),
)
_PATHS = dict(FILES)

#: the live facts that need the TensorRT module imported (probe(tensorrt_modules=False) leaves them out)
TENSORRT_MODULE_FACTS = ("tensorrt_python", "tensorrt_bindings", "cuda_library", "tensorrt_path")

DPKG_QUERY = ["dpkg-query", "-W", "-f", "${Package}\t${Version}\n"]
RUNTIME_MODULES = ("numpy", "tensorrt", "onnxruntime", "tensorflow", "pycuda")
_COMMAND_TIMEOUT_S = 30
_MAX_READ_BYTES = 8 * 1024 * 1024  # /var/lib/dpkg/status on a full JetPack is a few MB


def _fact(value=None, source=None):
    return {"value": value, "source": source}


class _Reader(object):
    """Reads FILES under a root; remembers why a file could not be read."""

    def __init__(self, root):
        self.root = root
        self.notes = []

    def path(self, key):
        return os.path.join(self.root, _PATHS[key].lstrip("/"))

    def exists(self, key):
        return os.path.exists(self.path(key))

    def read(self, key):
        """The file's text (undecodable bytes replaced), or None when absent or unreadable."""
        path = self.path(key)
        try:
            with open(path, "rb") as handle:
                data = handle.read(_MAX_READ_BYTES)
        except (IOError, OSError) as error:
            if os.path.exists(path):
                self.notes.append("could not read {}: {}".format(_PATHS[key], error))
            return None
        return data.decode("utf-8", "replace")


def probe(root="/", run_commands=True, tensorrt_modules=True):
    """Return the device's facts as a JSON-serialisable dict (see the module docstring).

    ``tensorrt_modules=False`` (the host plans no TensorRT run): the live facts only an import
    gives — the ``tensorrt`` module's version, the TensorRT Python path's bindings, CUDA library
    and choice (TENSORRT_MODULE_FACTS) — are left out, and ``notes`` says so; the TensorRT version
    from packages and headers is still read."""
    reader = _Reader(root)
    live = os.path.abspath(root) == os.path.abspath(os.sep)
    facts = {}
    # dpkg-query runs while the files are read (on a Jetson it lists ~2000 packages: the probe's
    # slowest part)
    listing = _start(DPKG_QUERY, reader.notes) if live and run_commands else None
    _hardware(reader, facts)
    _l4t(reader, facts)
    packages, package_source = _packages(reader, listing)
    _tensorrt(reader, facts, packages, package_source, live, tensorrt_modules)
    _cuda(reader, facts, packages, package_source)
    _cudnn(reader, facts, packages, package_source)
    _memory(reader, facts)
    _power_mode(reader, facts)
    _clocks(reader, facts, live and run_commands)
    _interpreter(facts, live)
    _cross_checks(facts, packages, package_source, reader.notes)
    row = jetson.release_for_l4t(facts["l4t"]["value"])
    from .power import clocks, thermal

    return {
        "schema": SCHEMA,
        "root": root,
        "facts": facts,
        "release_table": row,
        "files": [path for _, path in FILES] + [pattern for _, _, pattern, _ in clocks.FILES]
        + [thermal.ZONES + "/" + name for name in thermal.ZONE_FILES],
        "notes": reader.notes,
    }


def _hardware(reader, facts):
    model_text = reader.read("model")
    model = model_text.replace("\x00", "").strip() if model_text else None
    facts["model"] = _fact(model or None, _PATHS["model"] if model else None)

    # The module by part number first (p3448-0000 is a Nano 4 GB, p3448-0003 a Nano 2 GB), as
    # jetson-stats does; the model string only when no part number is readable.
    compatible = reader.read("compatible")
    facts["module"] = _fact(None, None)
    facts["part_number"] = _fact(None, None)
    soc, soc_source = None, None
    for key in ("compatible", "dtsfilename"):
        found = jetson.module_for_parts(compatible if key == "compatible" else reader.read(key))
        if found:
            source = "table: modules[{}] ({})".format(found["part_number"], _PATHS[key])
            facts["module"] = _fact(found["module"], source)
            facts["part_number"] = _fact(found["part_number"], _PATHS[key])
            soc, soc_source = found["soc"], source
            break
    if facts["module"]["value"] is None:
        match = jetson.module_for_model(model)
        if match["module"] != jetson.UNKNOWN:
            source = "table: model_patterns ({})".format(_PATHS["model"])
            facts["module"] = _fact(match["module"], source)
            soc, soc_source = match["soc"], source

    from_compatible = jetson.soc_for_compatible(compatible)
    if from_compatible != jetson.UNKNOWN:
        soc, soc_source = from_compatible, _PATHS["compatible"]

    release = nv_tegra_release.parse_nv_tegra_release(reader.read("nv_tegra_release") or "")
    if soc is None and release.get("board"):
        from_board = jetson.soc_for_board(release["board"])
        if from_board != jetson.UNKNOWN:
            soc, soc_source = from_board, "table: boards ({} BOARD)".format(_PATHS["nv_tegra_release"])
    facts["board"] = _fact(release.get("board"), _PATHS["nv_tegra_release"] if release.get("board") else None)
    facts["soc"] = _fact(soc, soc_source)

    info = jetson.soc_info(soc)
    known = info["compute_capability"] != jetson.UNKNOWN
    table_source = "table: socs[{}]".format(soc) if known else None
    facts["compute_capability"] = _fact(info["compute_capability"] if known else None, table_source)
    facts["gpu_arch"] = _fact(info["gpu_arch"] if known else None, table_source)
    facts["gpu_family"] = _fact(info["family"] if known else None, table_source)


def _l4t(reader, facts):
    release = nv_tegra_release.parse_nv_tegra_release(reader.read("nv_tegra_release") or "")
    facts["l4t"] = _fact(release.get("l4t"), _PATHS["nv_tegra_release"] if release.get("l4t") else None)
    # Without the file, _cross_checks takes the release from the nvidia-l4t-core package.
    jetpack = jetson.jetpack_for_l4t(release.get("l4t"))
    facts["jetpack"] = _fact(None, None)
    if jetpack != jetson.UNKNOWN:
        facts["jetpack"] = _fact(jetpack, "table: l4t[{}]".format(release["l4t"]))


def _packages(reader, listing):
    """{package: version} from dpkg-query (``listing``, started on a live device) or
    /var/lib/dpkg/status; and its source."""
    if listing is not None:
        output = _finish(listing, reader.notes)
        if output is not None:
            packages = dpkg.parse_package_list(output)
            if packages:
                return packages, "command: " + " ".join(DPKG_QUERY[:2])
    status = reader.read("dpkg_status")
    if status is None:
        return {}, None
    return dpkg.parse_dpkg_status(status), _PATHS["dpkg_status"]


def _run(argv, notes):
    """stdout of a command, or None (with a note) when it cannot run or fails."""
    process = _start(argv, notes)
    return None if process is None else _finish(process, notes)


def _start(argv, notes):
    try:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except (IOError, OSError) as error:
        notes.append("could not run {}: {}".format(argv[0], error))
        return None


def _finish(process, notes):
    """_run's answer for a process _start started."""
    argv = process.args
    try:
        out, err = process.communicate(timeout=_COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        notes.append("{} did not finish in {} s".format(argv[0], _COMMAND_TIMEOUT_S))
        return None
    if process.returncode != 0:
        notes.append("{} exited {}: {}".format(argv[0], process.returncode,
                                                err.decode("utf-8", "replace").strip()[:200]))
        return None
    return out.decode("utf-8", "replace")


def _tensorrt(reader, facts, packages, package_source, live, modules=True):
    facts["tensorrt"] = _fact(None, None)
    facts["tensorrt_cuda"] = _fact(None, None)
    facts["tensorrt_python"] = _fact(None, None)
    if live and not modules:
        reader.notes.append("TensorRT modules not imported (no TensorRT run asked for): "
                            "{} not probed".format(", ".join(TENSORRT_MODULE_FACTS)))
    if live and modules:
        version = _tensorrt_module_version(reader.notes)
        if version:
            facts["tensorrt_python"] = _fact(version, "python module tensorrt.__version__")
            facts["tensorrt"] = _fact(version, "python module tensorrt.__version__")

    from_packages = dpkg.tensorrt_version(packages)
    if from_packages:
        source = "{} ({})".format(package_source, from_packages["package"])
        # The package list gives the CUDA build and often the 4th version part; prefer the longer version.
        if _parts(from_packages["version"]) > _parts(facts["tensorrt"]["value"]):
            facts["tensorrt"] = _fact(from_packages["version"], source)
        if from_packages["cuda"]:
            facts["tensorrt_cuda"] = _fact(from_packages["cuda"], source)

    if facts["tensorrt"]["value"] is None:
        for key in ("nvinfer_version_h_aarch64", "nvinfer_version_h"):
            version = _header_version(reader.read(key) or "", "NV_TENSORRT_", ("MAJOR", "MINOR", "PATCH", "BUILD"))
            if version:
                facts["tensorrt"] = _fact(version, _PATHS[key])
                break

    facts["trtexec"] = _fact(_PATHS["trtexec"], _PATHS["trtexec"]) if reader.exists("trtexec") else _fact(None, None)
    if live and not modules:
        for name in TENSORRT_MODULE_FACTS:
            facts.pop(name, None)
        return
    # Which way the agent would run TensorRT here, from the same rule the agent applies.
    from .backends.tensorrt.path import probe_facts

    try:
        facts.update(probe_facts(reader.root, live, packages, facts["trtexec"]["value"]))
    except Exception as error:  # a broken TensorRT install must not stop the probe
        reader.notes.append("TensorRT path facts: {}: {}".format(type(error).__name__, error))


def _parts(version):
    return len(version.split(".")) if version else 0


def _tensorrt_module_version(notes):
    """Import tensorrt only here, and only on the live device: it loads CUDA libraries."""
    if not _module_importable("tensorrt"):
        return None  # (tensorrt_rtx and the path facts: backends/tensorrt/path.probe_facts)
    try:
        module = importlib.import_module("tensorrt")
        version = getattr(module, "__version__", None)
        return str(version) if version else None
    except Exception as error:  # a broken install must not stop the probe
        notes.append("import tensorrt failed: {}: {}".format(type(error).__name__, error))
        return None


def _header_version(text, prefix, names):
    values = []
    for name in names:
        marker = "#define {}{}".format(prefix, name)
        found = None
        for line in text.splitlines():
            parts = line.split()
            if line.startswith(marker) and len(parts) >= 3 and parts[1] == prefix + name and parts[2].isdigit():
                found = parts[2]
                break
        if found is None:
            break
        values.append(found)
    return ".".join(values) if len(values) >= 3 else None


def _cuda(reader, facts, packages, package_source):
    facts["cuda"] = _fact(None, None)
    text = reader.read("cuda_version_json")
    if text:
        version = _cuda_from_json(text)
        if version:
            facts["cuda"] = _fact(version, _PATHS["cuda_version_json"])
            return
    text = reader.read("cuda_version_txt")
    if text and "CUDA Version" in text:
        version = text.split("CUDA Version", 1)[1].split()[0:1]
        if version:
            facts["cuda"] = _fact(version[0], _PATHS["cuda_version_txt"])
            return
    found = dpkg.cuda_version(packages)
    if found:
        facts["cuda"] = _fact(found["version"], "{} ({})".format(package_source, found["package"]))


def _cuda_from_json(text):
    try:
        data = json.loads(text)
    except ValueError:
        return None
    for key in ("cuda_cudart", "cuda"):
        entry = data.get(key) if isinstance(data, dict) else None
        if isinstance(entry, dict) and entry.get("version"):
            return str(entry["version"])
    return None


def _cudnn(reader, facts, packages, package_source):
    facts["cudnn"] = _fact(None, None)
    for key in ("cudnn_version_h", "cudnn_version_h_aarch64_v9", "cudnn_version_h_aarch64_v8", "cudnn_h"):
        version = _header_version(reader.read(key) or "", "CUDNN_", ("MAJOR", "MINOR", "PATCHLEVEL"))
        if version:
            facts["cudnn"] = _fact(version, _PATHS[key])
            break
    found = dpkg.cudnn_version(packages)
    if found and _parts(found["version"]) > _parts(facts["cudnn"]["value"]):
        facts["cudnn"] = _fact(found["version"], "{} ({})".format(package_source, found["package"]))


def _memory(reader, facts):
    values = meminfo.parse_meminfo(reader.read("meminfo") or "")
    for name in ("mem_total_mb", "mem_available_mb", "swap_total_mb", "swap_free_mb"):
        facts[name] = _fact(values.get(name), _PATHS["meminfo"] if name in values else None)


def _power_mode(reader, facts):
    conf = nvpmodel.parse_nvpmodel_conf(reader.read("nvpmodel_conf") or "")
    status = reader.read("nvpmodel_status")
    mode_id = nvpmodel.parse_nvpmodel_status(status) if status else None
    source = _PATHS["nvpmodel_status"]
    if mode_id is None and conf["default_id"] is not None:
        mode_id, source = conf["default_id"], _PATHS["nvpmodel_conf"] + " (PM_CONFIG DEFAULT)"
    if mode_id is None:
        facts["power_mode"] = _fact(None, None)
        return
    name = conf["modes"].get(mode_id)
    if name:
        source += " + " + _PATHS["nvpmodel_conf"]
    facts["power_mode"] = _fact({"id": mode_id, "name": name}, source)


def power_mode_fact(root="/"):
    """The nvpmodel mode as a fact (``{"value": {"id", "name"}, "source"}``), read under ``root``:
    what every run records beside its figures."""
    facts = {}
    _power_mode(_Reader(root), facts)
    return facts["power_mode"]


def _clocks(reader, facts, run_commands):
    """Clock state from sysfs (power/clocks.py, its files listed there) and, on the live device,
    ``sudo -n jetson_clocks --show`` where that needs no password."""
    from .power import clocks

    state = clocks.read_clocks(reader.root)
    facts["clocks_pinned"] = _fact(state["pinned"], "sysfs cpufreq/devfreq/EMC (power/clocks.py)"
                                   if state["files"] else None)
    facts["clocks"] = _fact(state if state["files"] else None, "power/clocks.py FILES" if state["files"] else None)
    if run_commands and clocks.find_jetson_clocks():
        shown = clocks.jetson_clocks_show()
        facts["jetson_clocks"] = _fact(shown if "why" not in shown else None,
                                       shown.get("source") if "why" not in shown else None)
        if "why" in shown:
            reader.notes.append("jetson_clocks --show: " + shown["why"])


def _module_importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def _interpreter(facts, live):
    if not live:
        facts["python"] = _fact(None, None)
        facts["runtimes"] = _fact(None, None)
        return
    facts["python"] = _fact(platform.python_version(), "sys.version_info (the interpreter running the probe)")
    facts["runtimes"] = _fact(
        dict((name, _module_importable(name)) for name in RUNTIME_MODULES),
        "importlib.util.find_spec ({})".format(sys.executable or "python"),
    )


def _cross_checks(facts, packages, package_source, notes):
    """Fill gaps from the package list and note where two sources disagree."""
    from_packages = dpkg.l4t_version(packages)
    if from_packages and facts["l4t"]["value"] is None:
        source = "{} ({})".format(package_source, dpkg.L4T_PACKAGE)
        facts["l4t"] = _fact(from_packages, source)
        jetpack = jetson.jetpack_for_l4t(from_packages)
        if jetpack != jetson.UNKNOWN:
            facts["jetpack"] = _fact(jetpack, "table: l4t[{}]".format(from_packages))
    elif from_packages and from_packages != facts["l4t"]["value"]:
        notes.append("{} says L4T {} but {} says {}".format(
            dpkg.L4T_PACKAGE, from_packages, facts["l4t"]["source"], facts["l4t"]["value"]))
