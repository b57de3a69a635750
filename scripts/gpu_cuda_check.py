"""Run the agent's ctypes CUDA layer (edgetrt/agent/backends/tensorrt/cudart.py) on a real GPU.

    PYTHONPATH=. python3 scripts/gpu_cuda_check.py [--cudart PATH] [--expect-cc 9.0]

It loads a libcudart (by default the one a pip CUDA runtime wheel put under site-packages, as
PyTorch's nvidia-cuda-runtime does, else the one the agent finds), opens the agent's
CudartSession on device 0, and prints what it measured: the device facts, a numpy round trip
host -> device -> host through page-locked buffers on one stream for several sizes (timed with the
host clock and with CUDA events), and CUDA's own words for a failed allocation. Where cuda-python
is installed it opens the agent's CudaPythonSession too and checks it agrees. Exit status 0 only
when every round trip returned the same bytes (and the compute capability is the expected one).

Every figure printed is measured in this run; nothing is a constant.
"""

import argparse
import glob
import os
import platform
import site
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

from edgetrt.agent import outcome  # noqa: E402
from edgetrt.agent.backends.tensorrt import cudart  # noqa: E402
from edgetrt.agent.backends.tensorrt.cuda import available_cuda  # noqa: E402

SIZES = (4 << 10, 1 << 20, 64 << 20, 256 << 20)
REPEATS = 5


def pip_libcudart():
    """libcudart.so* files that pip wheels installed under site-packages."""
    roots = list(site.getsitepackages()) + [site.getusersitepackages()]
    found = []
    for root in roots:
        found += sorted(glob.glob(os.path.join(root, "nvidia", "**", "libcudart.so*"), recursive=True))
    return found


def round_trip(session, np, nbytes, rng):
    """Copy a random array to the device and back REPEATS times; return the figures."""
    count = nbytes // 4
    source = session.pinned((count,), np.float32)
    source[...] = rng.standard_normal(count).astype(np.float32)
    back = session.pinned((count,), np.float32)
    device = session.alloc(nbytes)
    start, middle, end = session.event(), session.event(), session.event()
    wall, h2d, d2h, same = [], [], [], True
    for _ in range(REPEATS):
        back[...] = 0
        t0 = time.perf_counter()
        session.record(start)
        session.htod(device, source)
        session.record(middle)
        session.dtoh(back, device)
        session.record(end)
        session.synchronize()
        wall.append((time.perf_counter() - t0) * 1e3)
        h2d.append(session.elapsed_ms(start, middle))
        d2h.append(session.elapsed_ms(middle, end))
        same = same and bool(np.array_equal(source, back))
    for event in (start, middle, end):
        session.destroy_event(event)
    best_h2d, best_d2h = min(h2d), min(d2h)
    return {"bytes": nbytes, "same": same, "wall_ms_min": min(wall), "h2d_ms_min": best_h2d,
            "d2h_ms_min": best_d2h,
            "h2d_GBps": nbytes / best_h2d / 1e6 if best_h2d > 0 else None,
            "d2h_GBps": nbytes / best_d2h / 1e6 if best_d2h > 0 else None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cudart", help="the libcudart to load (default: pip's, else the agent's choice)")
    parser.add_argument("--expect-cc", default="9.0", help="compute capability to require ('' for any)")
    args = parser.parse_args(argv)
    import numpy as np

    print("python {} ({}), numpy {}".format(platform.python_version(), sys.executable, np.__version__))
    wheels = pip_libcudart()
    print("libcudart in pip wheels: {}".format(", ".join(wheels) or "none"))
    print("libcudart the agent finds by itself: {}".format(cudart.find_libcudart()))
    print("CUDA library the agent's path choice names: {}".format(available_cuda({})))
    path = args.cudart or (wheels[0] if wheels else None)
    t0 = time.perf_counter()
    session = cudart.CudartSession(path)
    print("CudartSession opened on {} in {:.1f} ms".format(session.path, (time.perf_counter() - t0) * 1e3))
    ok = True
    try:
        facts = session.describe()
        for key in sorted(facts):
            print("  {}: {}".format(key, facts[key]))
        if args.expect_cc and facts["compute_capability"] != args.expect_cc:
            print("FAIL: compute capability {} (expected {})".format(facts["compute_capability"],
                                                                    args.expect_cc))
            ok = False
        rng = np.random.RandomState(0)
        print("round trips (page-locked host buffers, one stream, best of {}):".format(REPEATS))
        for nbytes in SIZES:
            r = round_trip(session, np, nbytes, rng)
            ok = ok and r["same"]
            print("  {:>10} bytes: same={} wall {:.3f} ms; H2D {:.3f} ms ({}), D2H {:.3f} ms ({}) "
                  "by CUDA events".format(r["bytes"], r["same"], r["wall_ms_min"], r["h2d_ms_min"],
                                          _gbps(r["h2d_GBps"]), r["d2h_ms_min"], _gbps(r["d2h_GBps"])))
        try:
            session.alloc(1 << 52)  # 4 PiB: no GPU has it
            print("FAIL: a 4 PiB allocation succeeded")
            ok = False
        except cudart.CudaError as exc:
            text = "{}: {}".format(type(exc).__name__, exc)
            print("4 PiB cudaMalloc -> {} (classified: {})".format(text, outcome.classify_exception_text(text)))
    finally:
        session.close()
    ok = check_cuda_python(np) and ok
    try:
        import torch

        print("cross-check, torch {}: {} compute capability {}".format(
            torch.__version__, torch.cuda.get_device_name(0), torch.cuda.get_device_capability(0)))
    except Exception as exc:  # only a cross-check: its absence proves nothing about the agent
        print("cross-check with torch not made: {}: {}".format(type(exc).__name__, exc))
    print("RESULT: {}".format("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def check_cuda_python(np):
    """The agent's cuda-python session, where cuda-python is installed: same CC, same bytes."""
    found = available_cuda({"cuda": "cuda-python"})
    if found is None:
        print("cuda-python: not installed; CudaPythonSession not checked")
        return True
    from edgetrt.agent.backends.tensorrt.cuda import CudaPythonSession

    session = CudaPythonSession()
    try:
        data = np.arange(1 << 16, dtype=np.float32)
        back = np.zeros_like(data)
        device = session.alloc(data.nbytes)
        session.htod(device, data)
        session.dtoh(back, device)
        session.synchronize()
        same = bool(np.array_equal(data, back))
        print("CudaPythonSession ({}): compute capability {}, {} bytes round trip same={}".format(
            found["detail"], session.compute_capability(), data.nbytes, same))
        return same
    finally:
        session.close()


def _gbps(value):
    return "{:.1f} GB/s".format(value) if value is not None else "n/a"


if __name__ == "__main__":
    sys.exit(main())
