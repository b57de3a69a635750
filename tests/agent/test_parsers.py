"""The agent's parsers on the real captures in tests/fixtures/logs.

Values asserted here are read off those files. The --dumpProfile tables are the exception: no
capture holds one, so those tests use short tables written here in the three layouts TensorRT prints
(name first without and with a median column, and TRT 8.6+/10's numbers first).
"""

from pathlib import Path

import pytest

from edgetrt.agent.parsers import dpkg, meminfo, nv_tegra_release, nvpmodel, tegrastats
from edgetrt.agent.parsers.trtexec import decode_version_code, parse_trtexec, parse_trtexec_runs, split_runs

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"


def capture(prefix):
    matches = sorted(LOGS.glob(prefix + "_*.txt"))
    if not matches:
        pytest.skip("capture {} not found under {}".format(prefix, LOGS))
    return matches[0].read_text(encoding="utf-8")


def tegrastats_lines(prefix):
    return [line for line in capture(prefix).splitlines() if line.startswith("RAM ") or line[:2].isdigit()]


# --- trtexec -------------------------------------------------------------------------------------


def test_trtexec_8_6_load_engine_summary_and_device():
    run = parse_trtexec(capture("C01"))
    assert run["status"] == "PASSED"
    assert run["tensorrt_version"] == "8.6.1"
    assert run["device"] == "NVIDIA GeForce RTX 4070"
    assert run["compute_capability"] == "8.9"
    assert run["sm_count"] == 46
    assert run["device_memory_mib"] == 12006
    assert run["engine_load_time_s"] == pytest.approx(0.00021103)
    assert run["build_time_s"] is None  # a --loadEngine run builds nothing
    assert run["throughput_qps"] == pytest.approx(5178.84)
    assert run["latency_ms"] == pytest.approx({
        "min": 0.228333, "max": 0.537476, "mean": 0.277574, "median": 0.27417,
        "p90": 0.32019, "p95": 0.335205, "p99": 0.360596,
    })
    assert run["gpu_compute_ms"]["mean"] == pytest.approx(0.124818)
    assert run["h2d_ms"]["p99"] == pytest.approx(0.16748)
    assert run["d2h_ms"]["median"] == pytest.approx(0.0552979)
    assert run["enqueue_ms"]["max"] == pytest.approx(0.15918)
    assert run["total_host_walltime_s"] == pytest.approx(3.00048)
    assert run["total_gpu_compute_s"] == pytest.approx(1.93955)
    assert len(run["trace_averages"]) == 5
    assert run["trace_averages"][0] == pytest.approx({
        "runs": 10, "gpu_latency_ms": 0.125751, "host_latency_ms": 0.315482, "end_to_end_ms": None,
        "enqueue_ms": 0.0347031,
    })
    assert run["layers"] == []
    assert run["errors"] == []


def test_trtexec_8_6_build_time():
    run = parse_trtexec(capture("C02"))
    assert run["build_time_s"] == pytest.approx(23.556)
    assert run["command"].startswith("/opt/tensorrt/bin/trtexec --onnx=model.onnx")
    assert run["throughput_qps"] == pytest.approx(5119.81)


def test_trtexec_8_2_on_jetson_nano():
    run = parse_trtexec(capture("C27"))
    assert run["tensorrt_version"] == "8.2.1"
    assert run["device"] == "NVIDIA Tegra X1"
    assert run["compute_capability"] == "5.3"
    assert run["device_memory_mib"] == 3955
    assert run["build_time_s"] == pytest.approx(184.708)
    assert run["throughput_qps"] == pytest.approx(11.0613)
    assert run["latency_ms"]["p99"] == pytest.approx(91.492)
    assert run["end_to_end_ms"]["median"] == pytest.approx(90.3167)
    assert run["trace_averages"][2]["end_to_end_ms"] == pytest.approx(90.2382)


def test_trtexec_8_0_prints_integer_version_and_banner():
    run = parse_trtexec(capture("C28"))
    # "TensorRT version: 8001" and "[TensorRT v8001]" both decode to 8.0.1.
    assert run["tensorrt_version"] == "8.0.1"
    assert run["engine_load_time_s"] == pytest.approx(3.86437)
    assert run["gpu_compute_ms"]["min"] == pytest.approx(39.8569)
    assert run["status"] == "PASSED"


def test_trtexec_8_4_summary_without_running_banner():
    run = parse_trtexec(capture("C05"))
    assert run["status"] == "PASSED"
    assert run["tensorrt_version"] == "8.4.0"
    assert run["throughput_qps"] == pytest.approx(41087.7)
    assert run["latency_ms"]["p99"] == pytest.approx(0.420288)
    assert run["d2h_ms"]["max"] == pytest.approx(0.00537109)


def test_trtexec_truncated_log_has_no_result():
    run = parse_trtexec(capture("C06"))
    assert run["status"] is None and run["tensorrt_version"] is None
    assert run["throughput_qps"] == 27207
    assert run["end_to_end_ms"]["min"] == pytest.approx(0.574707)


def test_trtexec_10_banner_and_unfinished_run():
    run = parse_trtexec(capture("C08"))
    assert run["tensorrt_version"] == "10.2.0"  # [TensorRT v100200]
    assert run["status"] == "RUNNING"  # the capture stops before any result
    assert run["throughput_qps"] is None and run["latency_ms"] == {}


def test_trtexec_7_1_block_summary_seven_runs():
    text = capture("C03")
    runs = parse_trtexec_runs(text)
    assert len(runs) == 7 == len(split_runs(text))
    first, last = runs[0], runs[-1]
    assert first["tensorrt_version"] is None  # TRT 7's banner carries no version
    assert "--batch=1 " in first["command"] and "--batch=128 " in last["command"]
    assert first["status"] == "PASSED"
    assert first["throughput_qps"] == pytest.approx(318.785)
    assert first["latency_ms"] == pytest.approx({"min": 3.05505, "max": 5.60945, "mean": 3.1141,
                                                 "median": 3.09796, "p99": 3.4563})
    assert first["end_to_end_ms"]["p99"] == pytest.approx(3.47168)
    assert first["enqueue_ms"] == pytest.approx({"min": 3.02222, "max": 5.35538, "median": 3.05493})
    assert first["gpu_compute_ms"]["mean"] == pytest.approx(3.05402)
    assert first["total_host_walltime_s"] == pytest.approx(3.00516)
    assert first["total_gpu_compute_s"] == pytest.approx(2.92575)
    assert first["trace_averages"][0]["end_to_end_ms"] == pytest.approx(3.49512)
    assert last["throughput_qps"] == pytest.approx(508.664)
    assert last["gpu_compute_ms"]["max"] == pytest.approx(270.469)
    assert all(run["status"] == "PASSED" for run in runs)


def test_trtexec_7_x_end_to_end_summary_and_traces():
    run = parse_trtexec(capture("C24"))
    assert [t["gpu_latency_ms"] for t in run["trace_averages"]] == pytest.approx([643.169, 636.196])
    # The later (TRT 7.2-style) summary wins over the 7.1-style block printed earlier in the file.
    assert run["throughput_qps"] == pytest.approx(1.57184)
    assert run["latency_ms"]["min"] == pytest.approx(634.644)
    assert run["enqueue_ms"] == pytest.approx({"min": 2.53569, "max": 2.81494, "mean": 2.68777})


def test_trtexec_trace_lines_only():
    run = parse_trtexec(capture("C26"))
    assert len(run["trace_averages"]) == 5
    assert run["trace_averages"][1] == pytest.approx({
        "runs": 10, "gpu_latency_ms": 3.49687, "host_latency_ms": 3.58237, "end_to_end_ms": 6.55042,
        "enqueue_ms": 0.987997,
    })


@pytest.mark.parametrize("code, version", [
    ("8201", "8.2.1"), ("8601", "8.6.1"), ("8001", "8.0.1"), ("8400", "8.4.0"), ("100200", "10.2.0"),
    ("8.6.1", "8.6.1"), ("v8", None), ("", None), (None, None),
])
def test_decode_version_code(code, version):
    assert decode_version_code(code) == version


PROFILE_TRT7 = """\
[I] === Profile (1000 iterations ) ===
[I]                  Layer   Time (ms)   Avg. Time (ms)   Time %
[I]            data to nvm       60.00             0.06      2.0
[I]   conv 1 + relu 1          2900.00             2.90     96.7
[I]                   prob       40.00             0.04      1.3
[I]                  Total     3000.00             3.00    100.0
[I] 
&&&& PASSED TensorRT.trtexec # trtexec --loadEngine=a.plan --dumpProfile
"""

PROFILE_TRT85 = """\
[11/29/2023-16:19:02] [I] === Profile (500 iterations ) ===
[11/29/2023-16:19:02] [I]                                   Layer   Time (ms)   Avg. Time (ms)   Median Time (ms)   Time %
[11/29/2023-16:19:02] [I]  Reformatting CopyNode for Input Tensor 0 to conv1      10.00           0.0200             0.0190      2.0
[11/29/2023-16:19:02] [I]                                   conv1      490.00           0.9800             0.9750     98.0
[11/29/2023-16:19:02] [I]                                   Total      500.00           1.0000             0.9940    100.0
[11/29/2023-16:19:02] [I] 
"""

PROFILE_TRT10 = """\
[05/08/2024-14:05:14] [I] === Profile (2000 iterations ) ===
[05/08/2024-14:05:14] [I]    Time(ms)     Avg.(ms)   Median(ms)   Time(%)   Layer
[05/08/2024-14:05:14] [I]       20.00       0.0100       0.0100       1.0   Reformatting CopyNode for Input Tensor 0 to conv 7x7
[05/08/2024-14:05:14] [I]     1980.00       0.9900       0.9800      99.0   conv 7x7 + relu
[05/08/2024-14:05:14] [I]     2000.00       1.0000       0.9900     100.0   Total
[05/08/2024-14:05:14] [I] 
[05/08/2024-14:05:14] [E] Error[1]: a failure after the table
&&&& FAILED TensorRT.trtexec [TensorRT v100300] # trtexec --loadEngine=a.plan --dumpProfile
"""


def test_profile_table_trt7_name_first_without_median():
    run = parse_trtexec(PROFILE_TRT7)
    assert run["profile_iterations"] == 1000
    assert [layer["name"] for layer in run["layers"]] == ["data to nvm", "conv 1 + relu 1", "prob"]
    assert run["layers"][1] == {"name": "conv 1 + relu 1", "time_ms": 2900.0, "avg_ms": 2.9, "median_ms": None,
                                "percent": 96.7}
    assert run["profile_total"]["time_ms"] == 3000.0


def test_profile_table_trt85_name_first_with_median():
    run = parse_trtexec(PROFILE_TRT85)
    assert run["layers"][0]["name"] == "Reformatting CopyNode for Input Tensor 0 to conv1"
    assert run["layers"][1] == {"name": "conv1", "time_ms": 490.0, "avg_ms": 0.98, "median_ms": 0.975,
                                "percent": 98.0}
    assert run["profile_total"]["median_ms"] == 0.994


def test_profile_table_trt10_numbers_first_and_failure():
    run = parse_trtexec(PROFILE_TRT10)
    assert run["tensorrt_version"] == "10.3.0"
    assert [layer["percent"] for layer in run["layers"]] == [1.0, 99.0]
    assert run["layers"][1]["name"] == "conv 7x7 + relu"
    assert run["profile_total"]["avg_ms"] == 1.0
    assert run["status"] == "FAILED"
    assert run["errors"] == ["Error[1]: a failure after the table"]


# --- tegrastats ----------------------------------------------------------------------------------


def test_tegrastats_nano_line():
    line = tegrastats_lines("C10")[1]
    sample = tegrastats.parse_tegrastats_line(line)
    assert sample["ram_used_mb"] == 1504 and sample["ram_total_mb"] == 3956
    assert sample["ram_lfb_blocks"] == 331 and sample["ram_lfb_block_mb"] == 4
    assert sample["iram_total_kb"] == 252
    assert [c["load_pct"] for c in sample["cpu"]] == [44, 22, 26, 14]
    assert {c["freq_mhz"] for c in sample["cpu"]} == {1479}
    assert (sample["emc_load_pct"], sample["emc_freq_mhz"]) == (7, 1600)
    assert (sample["gpu_load_pct"], sample["gpu_freq_mhz"]) == (86, 921)
    assert sample["engines"]["NVDEC"]["freq_mhz"] == 716
    assert sample["engines"]["VIC"] == {"load_pct": 0, "freq_mhz": 140}
    assert sample["temperatures_c"]["GPU"] == 42.5 and sample["temperatures_c"]["thermal"] == 42.5
    assert sample["power_mw"]["POM_5V_IN"] == {"current_mw": 4531, "average_mw": 3285}
    assert sample["power_mw"]["POM_5V_GPU"] == {"current_mw": 1113, "average_mw": 213}
    assert sample["power_in_mw"] == 4531
    assert "swap_used_mb" not in sample


def test_tegrastats_nano_summary():
    summary = tegrastats.summarise(capture("C10").splitlines())
    assert summary["samples"] == 4  # the comment lines and the cut-off line are not samples
    assert summary["ram_used_peak_mb"] == 1504 and summary["ram_total_mb"] == 3956
    assert summary["gpu_load_mean_pct"] == pytest.approx((28 + 86 + 99 + 99) / 4.0)
    assert summary["gpu_load_peak_pct"] == 99
    assert summary["gpu_freq_peak_mhz"] == 921
    assert summary["power_in_peak_mw"] == 4531
    assert summary["swap_used_peak_mb"] is None


def test_tegrastats_nano_with_swap():
    first, second = [tegrastats.parse_tegrastats_line(line) for line in tegrastats_lines("C11")]
    assert (first["swap_used_mb"], first["swap_total_mb"], first["swap_cached_mb"]) == (0, 1982, 0)
    assert first["gpu_freq_mhz"] == 768
    assert second["cpu"][2]["load_pct"] == 80
    summary = tegrastats.summarise(tegrastats_lines("C11"))
    assert summary["gpu_load_mean_pct"] == pytest.approx(3.5)
    assert summary["power_in_mean_mw"] == pytest.approx((2746 + 2980) / 2.0)


def test_tegrastats_agx_xavier_jetpack_4_2():
    sample = tegrastats.parse_tegrastats_line(tegrastats_lines("C12")[0])
    assert sample["ram_used_mb"] == 14700 and sample["ram_total_mb"] == 15692
    assert sample["swap_used_mb"] == 898 and sample["swap_total_mb"] == 8192
    assert len(sample["cpu"]) == 8 and sample["cpu"][0] == {"load_pct": 0, "freq_mhz": 1190, "online": True}
    assert sample["emc_load_pct"] == 0 and sample["emc_freq_mhz"] is None  # "EMC_FREQ 0%", no frequency
    assert sample["gpu_load_pct"] == 0 and sample["gpu_freq_mhz"] is None
    assert sample["temperatures_c"]["Tdiode"] == 32.0 and sample["temperatures_c"]["GPU"] == 30.5
    # Rails without the VDD_ prefix; "GPU 463/463" is a rail, "GPU@30.5C" a temperature.
    assert sample["power_mw"]["GPU"] == {"current_mw": 463, "average_mw": 463}
    assert sample["power_mw"]["SYS5V"]["current_mw"] == 3306
    assert "RAM" not in sample["power_mw"] and "power_in_mw" not in sample


def test_tegrastats_tx2():
    first, second = [tegrastats.parse_tegrastats_line(line) for line in tegrastats_lines("C13")]
    assert [c["freq_mhz"] for c in first["cpu"]] == [1303, 345, 345, 1419, 1420, 1421]
    assert (first["emc_load_pct"], first["emc_freq_mhz"]) == (0, 1866)
    assert (second["emc_load_pct"], second["emc_freq_mhz"]) == (16, 102)
    assert first["temperatures_c"]["BCPU"] == 41.0 and first["temperatures_c"]["Tdiode"] == 37.25
    assert first["power_mw"]["VDD_IN"] == {"current_mw": 1931, "average_mw": 1931}
    assert second["power_in_mw"] == 1776
    assert second["power_mw"]["VDD_DDR"] == {"current_mw": 250, "average_mw": 288}


def test_tegrastats_agx_orin():
    sample = tegrastats.parse_tegrastats_line(tegrastats_lines("C15")[0])
    assert sample["timestamp"] == "04-11-2025 10:36:27"
    assert sample["ram_used_mb"] == 4321 and sample["ram_total_mb"] == 62801
    assert sample["swap_used_mb"] == 19 and sample["swap_total_mb"] == 31400
    assert len(sample["cpu"]) == 12
    assert sample["emc_freq_mhz"] == 2133
    assert sample["gpu_load_pct"] == 0 and sample["gpu_gpc_freq_mhz"] == [0, 0]
    assert sample["engines"]["VIC"] == {"load_pct": None, "freq_mhz": 729}
    assert sample["temperatures_c"]["CPU"] == 44.562 and sample["temperatures_c"]["tj"] == 44.343
    assert sample["temperatures_c"]["GPU"] is None  # -256C: sensor not available
    assert sample["power_mw"]["VDD_GPU_SOC"] == {"current_mw": 2340, "average_mw": 2340}
    assert sample["power_mw"]["VIN_SYS_5V0"]["current_mw"] == 4025
    assert "NC" not in sample["power_mw"]


def test_tegrastats_not_a_line():
    assert tegrastats.parse_tegrastats_line("agruet@gpu02:~$ tegrastats") == {}
    assert tegrastats.summarise([])["samples"] == 0


# --- dpkg / apt ----------------------------------------------------------------------------------


def test_dpkg_l_jetson_nano_jetpack_4_6_4():
    packages = dpkg.parse_package_list(capture("C18"))
    assert packages["libnvinfer8"] == "8.2.1-1+cuda10.2"
    assert packages["libnvidia-container0"] == "0.10.0+jetpack"  # ":arm64" dropped
    versions = {"tensorrt": dpkg.tensorrt_version(packages), "cuda": dpkg.cuda_version(packages),
                "cudnn": dpkg.cudnn_version(packages), "l4t": dpkg.l4t_version(packages)}
    assert versions["tensorrt"] == {"version": "8.2.1.9", "cuda": "10.2", "package": "tensorrt",
                                    "package_version": "8.2.1.9-1+cuda10.2"}
    assert versions["cuda"]["version"] == "10.2.300" and versions["cuda"]["package"] == "cuda-cudart-10-2"
    assert versions["cudnn"]["version"] == "8.2.1.32" and versions["cudnn"]["cuda"] == "10.2"
    assert versions["l4t"] == "32.7.4"


def test_dpkg_l_tensorrt_5_jetpack_4_2():
    packages = dpkg.parse_package_list(capture("C19"))
    assert sorted(packages) == ["libnvinfer-dev", "libnvinfer-samples", "libnvinfer5"]
    found = dpkg.tensorrt_version(packages)
    assert (found["version"], found["cuda"], found["package"]) == ("5.0.6", "10.0", "libnvinfer5")


def test_dpkg_l_with_cut_off_line():
    packages = dpkg.parse_package_list(capture("C20"))
    assert "tensorrt" not in packages  # "ii  tensorrt" has no version in the capture
    assert packages["graphsurgeon-tf"] == "5.0.2-1+cuda10.0"
    assert dpkg.tensorrt_version(packages)["version"] == "5.0.2"


def test_dpkg_l_x86_container():
    found = dpkg.tensorrt_version(dpkg.parse_package_list(capture("C22")))
    assert (found["version"], found["cuda"]) == ("8.2.4", "11.4")


def test_apt_list_orin_nx_l4t_36_3():
    packages = dpkg.parse_package_list(capture("C23"))
    assert packages["nvidia-l4t-core"] == "36.3.0-20240719161631"
    assert packages["cupva-2.5-l4t"] == "2.5.1"
    assert len(packages) == 18
    assert dpkg.l4t_version(packages) == "36.3.0"
    assert dpkg.tensorrt_version(packages) is None


def test_dpkg_query_format_and_status_file():
    packages = dpkg.parse_package_list("libnvinfer10\t10.3.0.30-1+cuda12.5\nlibcudnn9-cuda-12\t9.3.0.75-1\n")
    assert dpkg.tensorrt_version(packages)["version"] == "10.3.0.30"
    assert dpkg.cudnn_version(packages)["version"] == "9.3.0.75"
    status = ("Package: libnvinfer8\nStatus: install ok installed\nVersion: 8.2.1-1+cuda10.2\n"
              "Description: TensorRT runtime libraries\n more text\n\n"
              "Package: libnvinfer7\nStatus: deinstall ok config-files\nVersion: 7.1.3-1+cuda10.2\n")
    assert dpkg.parse_dpkg_status(status) == {"libnvinfer8": "8.2.1-1+cuda10.2"}


# --- /etc/nv_tegra_release, /proc/meminfo, nvpmodel ----------------------------------------------


def test_nv_tegra_release_nano_r32_7_6():
    release = nv_tegra_release.parse_nv_tegra_release(capture("C16"))
    assert release == {"l4t": "32.7.6", "release": "32", "revision": "7.6", "gcid": "38171779",
                       "board": "t210ref", "eabi": "aarch64", "date": "Tue Nov  5 07:46:14 UTC 2024"}


def test_nv_tegra_release_tx2_r32_5_1():
    release = nv_tegra_release.parse_nv_tegra_release(capture("C17"))
    assert (release["l4t"], release["board"], release["gcid"]) == ("32.5.1", "t186ref", "26202423")


def test_nv_tegra_release_not_a_release():
    assert nv_tegra_release.parse_nv_tegra_release("") == {}
    assert nv_tegra_release.parse_nv_tegra_release("# R35 (release), REVISION: 1")["l4t"] == "35.1.0"


def test_meminfo():
    text = "MemTotal:        4050944 kB\nMemFree:          102400 kB\nMemAvailable:    2097152 kB\n" \
           "SwapTotal:       2029568 kB\nSwapFree:        2029568 kB\nHugePages_Total:       0\n"
    assert meminfo.parse_meminfo(text) == {"mem_total_mb": 3956.0, "mem_free_mb": 100.0,
                                           "mem_available_mb": 2048.0, "swap_total_mb": 1982.0,
                                           "swap_free_mb": 1982.0}
    assert meminfo.parse_meminfo("") == {}


def test_nvpmodel():
    conf = "< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\n< POWER_MODEL ID=1 NAME=5W >\n< PM_CONFIG DEFAULT=0 >\n"
    assert nvpmodel.parse_nvpmodel_conf(conf) == {"modes": {0: "MAXN", 1: "5W"}, "default_id": 0}
    assert nvpmodel.parse_nvpmodel_status("pmode:0001 fmode:quiet\n") == 1
    assert nvpmodel.parse_nvpmodel_status("") is None
