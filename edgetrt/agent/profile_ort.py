"""ONNX Runtime's profiler trace → per-node times (the host-side analogue of trtexec --dumpProfile)."""

import json


def parse_ort_profile(path, top=15):
    """Mean time per inference of each graph node, most expensive first, with its share."""
    with open(path) as fh:
        events = json.load(fh)
    totals, counts, ops = {}, {}, {}
    for event in events:
        if event.get("cat") != "Node" or not str(event.get("name", "")).endswith("_kernel_time"):
            continue
        name = event["name"][: -len("_kernel_time")]
        totals[name] = totals.get(name, 0.0) + float(event.get("dur", 0))
        counts[name] = counts.get(name, 0) + 1
        ops[name] = (event.get("args") or {}).get("op_name", "")
    grand = sum(totals.values())
    layers = []
    for name in sorted(totals, key=lambda n: -totals[n]):
        layers.append({
            "name": name,
            "op": ops[name],
            "time_ms": totals[name] / counts[name] / 1000.0,  # microseconds per call → ms
            "calls": counts[name],
            "percent": 100.0 * totals[name] / grand if grand else 0.0,
        })
    return {"source": "onnxruntime", "layers": layers[:top], "nodes": len(layers),
            "total_ms_per_inference": (grand / max(counts.values()) / 1000.0) if counts else 0.0}
