"""How far an optimized backend's predictions are from native TensorFlow's, on real images."""

from __future__ import annotations


def agreement(reference: list[dict], candidate: list[dict]) -> dict | None:
    """Fractions against the reference: top-1 agreement, mean top-5 overlap, max |Δp|.

    Each list holds one entry per image: {"top": [[class, prob], ...], "output": [p0, p1, ...]}.
    """
    if not reference or not candidate or len(reference) != len(candidate):
        return None
    top1 = overlap = 0.0
    max_diff = 0.0
    for ref, cand in zip(reference, candidate):
        ref_top = [c for c, _ in ref["top"][:5]]
        cand_top = [c for c, _ in cand["top"][:5]]
        top1 += ref_top[0] == cand_top[0]
        overlap += len(set(ref_top) & set(cand_top)) / max(len(ref_top), 1)
        ref_out, cand_out = ref.get("output"), cand.get("output")
        if ref_out and cand_out and len(ref_out) == len(cand_out):
            max_diff = max(max_diff, max(abs(a - b) for a, b in zip(ref_out, cand_out)))
    n = len(reference)
    return {"images": n, "top1": top1 / n, "top5_overlap": overlap / n, "max_abs_diff": max_diff}
