"""A STAND-IN for trtexec: a script that prints REAL captured trtexec output (tests/fixtures/logs)
and writes a placeholder engine file (and, given ``--timingCacheFile``, a placeholder timing cache:
what was there plus ``TIMING_MARK``). It is not trtexec, builds nothing and times nothing.

What it prints is a real capture, so the agent's parsing, its commands and its subprocess handling
are exercised for real. Where trtexec would also write a file the captures cannot hold (the
``--exportTimes`` per-query JSON), it writes one query whose latency is the capture's own
"Latency: min" figure: the stand-in's choice, named here, not a measurement.

Modes (environment ``TRTEXEC_STANDIN_MODE``), for the retry policy's tests:
    ok                 every build and run passes
    oom                every build fails with TensorRT's real OutOfMemory wording
    oom_once           the first build fails so, later ones pass
    killed_once        the first build is killed by SIGKILL (as the kernel's OOM killer kills)
    kill_parent_once   the first build kills its parent, the measuring child, with SIGKILL
    kill_parent_then_oom   build 1 kills the parent; later builds fail with OutOfMemory
    oom_then_kill_parent   build 1 fails with OutOfMemory; build 2 kills the parent
"""

import json
import os
from pathlib import Path

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
C01_LOAD = LOGS / "C01_trtexec_8.6.1_x86_RTX4070_loadEngine.txt"
C27_NANO_BUILD = LOGS / "C27_trtexec_8.2.1_JetsonNano_build_UNRESOLVED_REPO.txt"
C28_NANO_LOAD = LOGS / "C28_trtexec_8.0.1_JetsonNano_DS6.0_loadEngine_UNRESOLVED_REPO.txt"
#: what the stand-in appends to its --timingCacheFile per build (a placeholder, not a timing cache)
TIMING_MARK = b"STANDIN-TRTEXEC-TIMING+"

SCRIPT = '''#!{python}
# STAND-IN for trtexec (tests/agent/trtexec_standin.py): prints real captures, builds nothing.
import io, json, os, re, signal, sys
# Real trtexec writes bytes whatever the locale; under the C locale (an SSH session without LANG)
# Python 3.6 would refuse the captures' non-ASCII bytes, so read and write UTF-8 explicitly.
sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", errors="replace")
def capture(path):
    return io.open(path, encoding="utf-8", errors="replace").read()
state = {state!r}
with open(state + ".argv", "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\\n")
mode = os.environ.get("TRTEXEC_STANDIN_MODE", "ok")
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if "=" in a)
TIMING_MARK = {timing_mark!r}

def oom():
    sys.stdout.write(capture({build!r}).split("[07/14/2023-11:52:16]")[0])
    sys.stdout.write("[07/14/2023-11:52:40] [E] Error[2]: [virtualMemoryBuffer.cpp::resizePhysical::145] "
                     "Error Code 2: OutOfMemory (no further information)\\n")
    sys.stdout.write("&&&& FAILED TensorRT.trtexec [TensorRT v8201] # trtexec\\n")
    sys.exit(1)

if "saveEngine" in args:
    builds = len([l for l in open(state + ".argv") if "--saveEngine" in l])
    first = builds == 1
    if mode == "oom" or (mode == "oom_once" and first) or (mode == "kill_parent_then_oom" and not first) \\
            or (mode == "oom_then_kill_parent" and first):
        oom()
    if mode == "killed_once" and first:
        os.kill(os.getpid(), signal.SIGKILL)
    if (mode in ("kill_parent_once", "kill_parent_then_oom") and first) \\
            or (mode == "oom_then_kill_parent" and not first):
        os.kill(os.getppid(), signal.SIGKILL)
        sys.exit(9)
    with open(args["saveEngine"], "wb") as fh:
        if {engine!r}:  # a REAL engine file's bytes (a fixture), so hosts can read its header
            fh.write(open({engine!r}, "rb").read())
        else:
            fh.write(b"STANDIN-TRTEXEC-ENGINE workspace " + args.get("workspace", args.get("memPoolSize", "?")).encode())
    if "timingCacheFile" in args:
        # trtexec (8.2+) loads this file where it exists and saves the builder's timing cache to it
        # after the build; the stand-in appends one marker per build to what was there, so a test
        # can see which cache a build started from (its bytes are no real timing cache)
        seed = open(args["timingCacheFile"], "rb").read() if os.path.exists(args["timingCacheFile"]) else b""
        with open(args["timingCacheFile"], "wb") as fh:
            fh.write(seed + TIMING_MARK)
    sys.stdout.write(capture({build!r}))
elif "loadEngine" in args:
    written = open({engine!r}, "rb").read() if {engine!r} else None
    loaded = open(args["loadEngine"], "rb").read()
    if not (loaded.startswith(b"STANDIN-TRTEXEC-ENGINE") or loaded == written):
        sys.stdout.write("[E] Error[1]: [stdArchiveReader.cpp::StdArchiveReader::32] Error Code 1: "
                         "Serialization (Serialization assertion magicTagRead == kMAGIC_TAG failed."
                         "Magic tag does not match)\\n&&&& FAILED TensorRT.trtexec [TensorRT v8201] # trtexec\\n")
        sys.exit(1)
    out = capture({load!r})
    if "exportTimes" in args:
        low = float(re.search(r"\\] Latency: min = ([0-9.]+) ms", out).group(1))
        with open(args["exportTimes"], "w") as fh:
            fh.write("[\\n  {{ \\"startEnqMs\\" : 0, \\"latencyMs\\" : %r, \\"endToEndMs\\" : %r }}\\n]\\n" % (low, low))
    if "--dumpProfile" in sys.argv[1:]:
        # A TensorRT 8.5-style per-layer table (the shape trtexec prints; these rows are the stand-in's).
        out += ("[11/29/2023-16:19:02] [I] === Profile (500 iterations ) ===\\n"
                "[11/29/2023-16:19:02] [I]      Layer   Time (ms)   Avg. Time (ms)   Median Time (ms)   Time %\\n"
                "[11/29/2023-16:19:02] [I]      conv1      490.00           0.9800             0.9750     98.0\\n"
                "[11/29/2023-16:19:02] [I]    softmax       10.00           0.0200             0.0190      2.0\\n"
                "[11/29/2023-16:19:02] [I]      Total      500.00           1.0000             0.9940    100.0\\n")
    sys.stdout.write(out)
'''


class Standin(str):
    """The stand-in's path (a str), with ``calls()``: the argv of every invocation so far."""

    state = None

    def calls(self):
        if not os.path.exists(self.state + ".argv"):
            return []
        with open(self.state + ".argv") as fh:
            return [json.loads(line) for line in fh]

    def builds(self):
        return [argv for argv in self.calls() if any(a.startswith("--saveEngine") for a in argv)]


def write_standin(directory, python, build_log=C27_NANO_BUILD, load_log=C01_LOAD, engine_bytes_from=None):
    """Write the stand-in as ``directory/bin/trtexec`` run by ``python``; returns a Standin.

    ``engine_bytes_from``: a real engine file whose bytes the stand-in "builds" (so a host can read
    a real header from what it wrote); default a placeholder that is no engine."""
    path = Path(directory) / "bin" / "trtexec"
    path.parent.mkdir(parents=True, exist_ok=True)
    state = str(Path(directory) / "trtexec-calls")
    path.write_text(SCRIPT.format(python=python, state=state, build=str(build_log), load=str(load_log),
                                  engine=str(engine_bytes_from) if engine_bytes_from else "",
                                  timing_mark=TIMING_MARK))
    path.chmod(0o755)
    standin = Standin(str(path))
    standin.state = state
    return standin
