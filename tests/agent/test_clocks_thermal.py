"""Clocks and thermal zones read from sysfs under a root (agent/power/clocks.py, thermal.py), and
``jetson_clocks --show`` / ``--store`` parsed.

The sysroots are written here in the layout of a Jetson Nano (57000000.gpu devfreq, four A57
cores in kHz, thermal zones in millidegrees). Their numbers are the Nano's published clock table
(CPU 102-1479 MHz, GPU 76.8-921.6 MHz); the --show text is jetson_clocks' format as jetson-stats
parses it (rbonghi/jetson_stats jtop/core/jetson_clocks.py); the trip points are made up for the
test. No capture of a live board's sysfs is in the fixtures.
"""

from edgetrt.agent.parsers import jetson_clocks
from edgetrt.agent.power import clocks, thermal
from edgetrt.agent.probe import probe

SHOW_UNLOCKED = """SOC family:tegra210  Machine:NVIDIA Jetson Nano Developer Kit
Online CPUs: 0-3
cpu0: Online=1 Governor=schedutil MinFreq=102000 MaxFreq=1479000 CurrentFreq=825600 IdleStates: WFI=1 c7=1
cpu1: Online=1 Governor=schedutil MinFreq=102000 MaxFreq=1479000 CurrentFreq=1479000 IdleStates: WFI=1 c7=1
GPU MinFreq=76800000 MaxFreq=921600000 CurrentFreq=76800000
EMC MinFreq=204000000 MaxFreq=1600000000 CurrentFreq=1600000000 FreqOverride=0
Fan: PWM=0
NV Power Mode: MAXN
"""


def nano_sysroot(root, pinned=False, trips=None):
    def write(path, text):
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    for cpu in range(4):
        base = "/sys/devices/system/cpu/cpu{}/cpufreq/".format(cpu)
        write(base + "scaling_cur_freq", "1479000\n" if pinned or cpu else "825600\n")
        write(base + "scaling_min_freq", "1479000\n" if pinned else "102000\n")
        write(base + "scaling_max_freq", "1479000\n")
        write(base + "cpuinfo_max_freq", "1479000\n")
    gpu = "/sys/class/devfreq/57000000.gpu/"
    write(gpu + "cur_freq", "921600000\n" if pinned else "76800000\n")
    write(gpu + "min_freq", "921600000\n" if pinned else "76800000\n")
    write(gpu + "max_freq", "921600000\n")
    write(gpu + "available_frequencies", "76800000 153600000 921600000\n")
    for i, (kind, temp) in enumerate((("AO-therm", 47500), ("CPU-therm", 44000), ("GPU-therm", 42500),
                                      ("PMIC-Die", 100000), ("thermal-fan-est", 43000))):
        zone = "/sys/class/thermal/thermal_zone{}/".format(i)
        write(zone + "type", kind + "\n")
        write(zone + "temp", "{}\n".format(temp))
        for j, (trip_type, trip_temp) in enumerate((trips or {}).get(kind, ())):
            write(zone + "trip_point_{}_type".format(j), trip_type + "\n")
            write(zone + "trip_point_{}_temp".format(j), "{}\n".format(trip_temp))
    return root


def test_unlocked_nano_clocks_are_not_pinned(tmp_path):
    state = clocks.read_clocks(str(nano_sysroot(tmp_path)))
    assert state["cpu"]["cur_mhz"] == [825.6, 1479.0, 1479.0, 1479.0]
    assert state["cpu"]["min_mhz"] == [102.0] * 4 and state["cpu"]["pinned"] is False
    assert state["gpu"] == {"cur_mhz": 76.8, "min_mhz": 76.8, "max_mhz": 921.6, "node": "57000000.gpu",
                            "available_max_mhz": 921.6, "pinned": False}
    assert state["emc"]["pinned"] is None and "debugfs" in state["emc"]["why"]
    assert state["pinned"] is False
    assert "/sys/class/devfreq/57000000.gpu/max_freq" in state["files"]


def test_pinned_clocks_with_emc_unreadable_are_not_called_pinned(tmp_path):
    state = clocks.read_clocks(str(nano_sysroot(tmp_path, pinned=True)))
    assert state["cpu"]["pinned"] is True and state["gpu"]["pinned"] is True
    assert state["pinned"] is None  # EMC (root-only debugfs) was not read: not claimed


def test_no_clock_files_off_a_jetson(tmp_path):
    state = clocks.read_clocks(str(tmp_path))
    assert state["files"] == [] and state["pinned"] is None
    assert state["gpu"]["pinned"] is None


def test_probe_reports_clocks_from_its_root(tmp_path):
    facts = probe(str(nano_sysroot(tmp_path, pinned=True)), run_commands=False)["facts"]
    assert facts["clocks"]["value"]["gpu"]["max_mhz"] == 921.6
    assert facts["clocks_pinned"] == {"value": None, "source": "sysfs cpufreq/devfreq/EMC (power/clocks.py)"}


def test_jetson_clocks_show_is_parsed():
    shown = jetson_clocks.parse_show(SHOW_UNLOCKED)
    assert shown["cpu"][0] == {"index": 0, "online": True, "governor": "schedutil", "min_mhz": 102.0,
                               "max_mhz": 1479.0, "cur_mhz": 825.6}
    assert shown["gpu"] == {"min_mhz": 76.8, "max_mhz": 921.6, "cur_mhz": 76.8}
    assert shown["emc"] == {"min_mhz": 204.0, "max_mhz": 1600.0, "cur_mhz": 1600.0, "override": False}
    assert shown["power_mode"] == "MAXN"


def test_jetson_clocks_store_file_is_parsed():
    text = ("/sys/devices/system/cpu/cpu0/online:1\n"
            "/sys/devices/system/cpu/cpu0/cpufreq/scaling_min_freq:102000\n"
            "/sys/devices/57000000.gpu/devfreq/57000000.gpu/min_freq:76800000\n"
            "/sys/kernel/debug/clk/override.emc/clk_state:0\nnot a setting\n")
    stored = jetson_clocks.parse_store(text)
    assert stored["/sys/devices/57000000.gpu/devfreq/57000000.gpu/min_freq"] == "76800000"
    assert len(stored) == 4


def test_thermal_zones_trip_points_and_the_sensor_names_tegrastats_uses(tmp_path):
    root = nano_sysroot(tmp_path, trips={"GPU-therm": (("passive", 97000), ("critical", 102000)),
                                         "PMIC-Die": (("passive", 90000),)})
    zones = thermal.read_zones(str(root))
    assert [z["type"] for z in zones] == ["AO-therm", "CPU-therm", "GPU-therm", "PMIC-Die", "thermal-fan-est"]
    assert zones[2]["temp_c"] == 42.5 and zones[2]["trips"][0] == {"type": "passive", "temp_c": 97.0}
    assert thermal.passive_caps(zones) == {"gpu": 97.0}  # PMIC's fixed reading never counts
    assert thermal.board_temperature(str(root)) == (47.5, "AO-therm")
    assert [thermal.sensor_key(n) for n in ("GPU", "CPU-therm", "cpu-thermal", "Tboard_tegra", "thermal")] == \
        ["gpu", "cpu", "cpu", "tboard", "thermal"]


def test_no_thermal_zone_says_where_it_looked(tmp_path):
    temp, why = thermal.board_temperature(str(tmp_path))
    assert temp is None and "no readable thermal zone" in why
