"""probe() against sysroots assembled in tmp_path from the real captures in tests/fixtures/logs."""

import json
import re
from pathlib import Path

import pytest

from edgetrt.agent import probe as probe_module
from edgetrt.agent.probe import FILES, probe

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"


def capture(prefix):
    matches = sorted(LOGS.glob(prefix + "_*.txt"))
    if not matches:
        pytest.skip("capture {} not found under {}".format(prefix, LOGS))
    return matches[0].read_text(encoding="utf-8")


def write(root, path, content):
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    return target


def dpkg_status_from_dpkg_l(text):
    """Turn a captured `dpkg -l` listing into the /var/lib/dpkg/status stanzas dpkg keeps on disk."""
    stanzas = []
    for line in text.splitlines():
        columns = line.split()
        if len(columns) >= 4 and columns[0] == "ii":
            stanzas.append("Package: {}\nStatus: install ok installed\nPriority: optional\n"
                           "Architecture: {}\nVersion: {}\nDescription: {}\n".format(
                               columns[1].split(":")[0], columns[3], columns[2], " ".join(columns[4:])))
    return "\n".join(stanzas)


@pytest.fixture
def nano_root(tmp_path):
    """A Jetson Nano sysroot: real nv_tegra_release (R32.7.6) and dpkg list (JetPack 4.6.4)."""
    release_line = re.search(r"# R32 \(release\).*", capture("C16")).group(0)
    write(tmp_path, "/etc/nv_tegra_release", release_line + "\n# KERNEL_VARIANT: oot\n")
    write(tmp_path, "/var/lib/dpkg/status", dpkg_status_from_dpkg_l(capture("C18")))
    write(tmp_path, "/proc/device-tree/model", b"NVIDIA Jetson Nano Developer Kit\x00")
    write(tmp_path, "/proc/meminfo", "MemTotal:        4050944 kB\nMemFree:          524288 kB\n"
                                     "MemAvailable:    2621440 kB\nSwapTotal:       2029568 kB\n"
                                     "SwapFree:        2029568 kB\n")
    write(tmp_path, "/etc/nvpmodel.conf", "< POWER_MODEL ID=0 NAME=MAXN >\n< POWER_MODEL ID=1 NAME=5W >\n"
                                          "< PM_CONFIG DEFAULT=0 >\n")
    write(tmp_path, "/var/lib/nvpmodel/status", "pmode:0001\n")
    write(tmp_path, "/usr/src/tensorrt/bin/trtexec", b"\x7fELF")
    return tmp_path


def value(result, name):
    return result["facts"][name]["value"]


def source(result, name):
    return result["facts"][name]["source"]


def test_probe_jetson_nano_sysroot(nano_root):
    result = probe(str(nano_root), run_commands=False)
    json.dumps(result)  # JSON-serialisable as it is

    assert value(result, "model") == "NVIDIA Jetson Nano Developer Kit"
    assert value(result, "module") == "Jetson Nano"
    assert value(result, "soc") == "tegra210"
    assert value(result, "compute_capability") == "5.3"
    assert value(result, "gpu_arch") == "sm_53"
    assert value(result, "board") == "t210ref"

    assert value(result, "l4t") == "32.7.6" and source(result, "l4t") == "/etc/nv_tegra_release"
    assert value(result, "jetpack") == "4.6.6" and source(result, "jetpack") == "table: l4t[32.7.6]"

    assert value(result, "tensorrt") == "8.2.1.9"
    assert source(result, "tensorrt") == "/var/lib/dpkg/status (tensorrt)"
    assert value(result, "tensorrt").startswith("8.2.1.")
    assert value(result, "tensorrt_cuda") == "10.2"
    assert value(result, "cuda") == "10.2.300" and "cuda-cudart-10-2" in source(result, "cuda")
    assert value(result, "cudnn") == "8.2.1.32"
    assert value(result, "trtexec") == "/usr/src/tensorrt/bin/trtexec"

    assert value(result, "mem_total_mb") == 3956.0
    assert 3.5 * 1024 < value(result, "mem_total_mb") <= 4 * 1024  # a 4 GB Nano
    assert value(result, "swap_total_mb") == 1982.0
    assert value(result, "power_mode") == {"id": 1, "name": "5W"}
    assert source(result, "power_mode") == "/var/lib/nvpmodel/status + /etc/nvpmodel.conf"

    # The interpreter running the test is not the sysroot's: those facts stay unknown.
    assert value(result, "python") is None and value(result, "runtimes") is None
    assert value(result, "tensorrt_python") is None

    assert result["release_table"]["jetpack"] == "4.6.6"
    assert result["release_table"]["tensorrt"].startswith("8.2.1")
    # The captured package list (L4T 32.7.4) is older than the release file (32.7.6): noted, not hidden.
    assert any("32.7.4" in note and "32.7.6" in note for note in result["notes"])


def test_probe_names_the_tensorrt_path_a_nano_would_take(nano_root):
    # C18's packages hold python3-libnvinfer 8.2.1; with CUDA's runtime on disk: the Python path
    lib = write(nano_root, "/usr/local/cuda-10.2/lib64/libcudart.so.10.2.300", b"\x7fELF")
    result = probe(str(nano_root), run_commands=False)
    assert value(result, "tensorrt_bindings") == {"module": "tensorrt", "flavour": "tensorrt",
                                                  "version": "8.2.1", "api": "TensorRT 8.0-8.3"}
    assert source(result, "tensorrt_bindings") == "package python3-libnvinfer"
    assert value(result, "cuda_library") == {"kind": "cudart",
                                             "detail": "/usr/local/cuda-10.2/lib64/libcudart.so.10.2.300"}
    assert value(result, "tensorrt_path")["path"] == "python"
    lib.unlink()  # no CUDA runtime for the bindings: trtexec, which is there
    choice = value(probe(str(nano_root), run_commands=False), "tensorrt_path")
    assert choice["path"] == "trtexec" and "no CUDA library" in choice["why"]
    assert choice["why"].endswith("trtexec at /usr/src/tensorrt/bin/trtexec")


def test_probe_reads_l4t_from_packages_when_release_file_is_missing(nano_root):
    (nano_root / "etc" / "nv_tegra_release").unlink()
    result = probe(str(nano_root), run_commands=False)
    assert value(result, "l4t") == "32.7.4"
    assert source(result, "l4t") == "/var/lib/dpkg/status (nvidia-l4t-core)"
    assert value(result, "jetpack") == "4.6.4"
    assert value(result, "board") is None
    assert value(result, "compute_capability") == "5.3"  # still known from the device-tree model


def test_probe_prefers_files_over_packages_for_cuda_and_cudnn(nano_root):
    write(nano_root, "/usr/local/cuda/version.json",
          json.dumps({"cuda": {"name": "CUDA SDK", "version": "10.2.460"},
                      "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "10.2.301"}}))
    write(nano_root, "/usr/include/cudnn_version.h",
          "#define CUDNN_MAJOR 8\n#define CUDNN_MINOR 2\n#define CUDNN_PATCHLEVEL 1\n")
    result = probe(str(nano_root), run_commands=False)
    assert value(result, "cuda") == "10.2.301" and source(result, "cuda") == "/usr/local/cuda/version.json"
    # the header has 3 parts, the libcudnn8 package 4: the longer one wins
    assert value(result, "cudnn") == "8.2.1.32"


def test_probe_tensorrt_from_header_without_packages(tmp_path):
    write(tmp_path, "/usr/include/aarch64-linux-gnu/NvInferVersion.h",
          "#define NV_TENSORRT_MAJOR 8 //!< major\n#define NV_TENSORRT_MINOR 5\n"
          "#define NV_TENSORRT_PATCH 2\n#define NV_TENSORRT_BUILD 2\n")
    write(tmp_path, "/proc/device-tree/compatible", b"nvidia,p3737-0000+p3701-0000\x00nvidia,tegra234\x00")
    write(tmp_path, "/usr/local/cuda/version.txt", "CUDA Version 10.2.300\n")
    result = probe(str(tmp_path), run_commands=False)
    assert value(result, "tensorrt") == "8.5.2.2"
    assert source(result, "tensorrt") == "/usr/include/aarch64-linux-gnu/NvInferVersion.h"
    assert value(result, "soc") == "tegra234" and value(result, "compute_capability") == "8.7"
    assert value(result, "cuda") == "10.2.300"


def test_probe_empty_sysroot_is_all_unknown(tmp_path):
    result = probe(str(tmp_path), run_commands=True)  # commands only run on the live root
    json.dumps(result)
    for name, fact in result["facts"].items():
        if name != "tensorrt_path":  # a conclusion from the facts, not a fact: see below
            assert fact == {"value": None, "source": None}, name
    choice = value(result, "tensorrt_path")
    assert choice["path"] is None and "python3-libnvinfer" in choice["why"] and "libnvinfer-bin" in choice["why"]
    assert result["release_table"]["jetpack"] == "unknown"
    assert result["notes"] == []


def test_probe_missing_root_does_not_raise(tmp_path):
    result = probe(str(tmp_path / "no" / "such" / "root"))
    assert value(result, "l4t") is None and value(result, "compute_capability") is None


def test_probe_unreadable_file_is_a_note(nano_root):
    (nano_root / "proc" / "meminfo").unlink()
    (nano_root / "proc" / "meminfo").mkdir()  # reading a directory fails like a permission error
    result = probe(str(nano_root), run_commands=False)
    assert value(result, "mem_total_mb") is None
    assert any(note.startswith("could not read /proc/meminfo") for note in result["notes"])


def test_probe_live_root_reports_this_interpreter():
    result = probe("/", run_commands=False)
    json.dumps(result)
    assert re.match(r"^3\.\d+\.\d+", value(result, "python"))
    runtimes = value(result, "runtimes")
    assert set(runtimes) == {"numpy", "tensorrt", "onnxruntime", "tensorflow", "pycuda"}
    assert runtimes["numpy"] is True  # a host dependency of edgetrt
    # this machine: TensorRT-RTX's wheels where installed, and the choice made from what it found
    choice = value(result, "tensorrt_path")
    bindings, cuda = value(result, "tensorrt_bindings"), value(result, "cuda_library")
    assert choice["path"] == ("python" if bindings and cuda else "trtexec" if value(result, "trtexec")
                              else None), choice


def test_every_path_read_is_in_files():
    """FILES is the one list of paths: no other absolute path literal appears in probe.py."""
    text = Path(probe_module.__file__).read_text(encoding="utf-8")
    listed = {path for _, path in FILES}
    literals = set(re.findall(r'"(/(?:proc|etc|var|usr|sys)/[^"]*)"', text))
    assert literals == listed
    assert len({key for key, _ in FILES}) == len(FILES)


def test_a_live_probe_without_tensorrt_modules_imports_none(tmp_path):
    """`agent probe --no-tensorrt-modules` (a run with no TensorRT cell): no TensorRT module is
    imported, the facts only that import gives are absent and a note says so; the rest is the
    full probe's."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    code = ("import json, sys\nfrom edgetrt.agent.main import main\nsys.argv[1:] = sys.argv[2:]\n"
            "try:\n    main()\nfinally:\n"
            "    open(sys.argv[0], 'w').write(json.dumps(sorted(m for m in sys.modules if 'tensorrt' in m)))\n")

    def run(*flags):
        marker = tmp_path / "modules.json"
        proc = subprocess.run([sys.executable, "-c", code.replace("sys.argv[0]", repr(str(marker))), "-", "probe",
                               "--no-commands", *flags], capture_output=True, text=True, cwd=repo, check=True)
        return json.loads(proc.stdout)["facts"], json.loads(marker.read_text())

    full, full_modules = run()
    lean, lean_modules = run("--no-tensorrt-modules")
    assert [m for m in lean_modules if not m.startswith("edgetrt.agent.backends.tensorrt")] == []
    assert any(not m.startswith("edgetrt.agent") for m in full_modules)  # TensorRT-RTX's bindings here
    left_out = set(probe_module.TENSORRT_MODULE_FACTS)
    assert left_out <= set(full["facts"]) and not left_out & set(lean["facts"])
    assert any("TensorRT modules not imported" in note for note in lean["notes"])
    same = set(full["facts"]) - left_out - {"clocks", "mem_available_mb", "swap_free_mb"}
    assert {k: lean["facts"][k] for k in same} == {k: full["facts"][k] for k in same}
