"""The warm-up of ``--rigorous``: run inferences until the board's temperature is steady.

Steady means the hottest real sensor (thermal.board_temperature) rises or falls by less than
1 C per minute: the slope of a least-squares line through the readings of the last 60 s, read
every 5 s (Jetson zones report in 0.5 C steps, so a shorter window would see the steps, not the
trend). A time cap ends the warm-up when the board never settles; the result says which ended it.
Without a readable sensor the warm-up is the fixed one and the result says why.
"""

import time

STEADY_C_PER_MIN = 1.0
WINDOW_S = 60.0
READ_EVERY_S = 5.0
DEFAULT_CAP_S = 600.0   # a 10-minute soak, as Jetson users validate sustained clocks (osnava/learnJetson #6)


def slope_c_per_min(readings):
    """Least-squares slope of [(seconds, C)] in C per minute; None for fewer than two distinct times."""
    n = len(readings)
    if n < 2:
        return None
    mt = sum(t for t, _ in readings) / float(n)
    mc = sum(c for _, c in readings) / float(n)
    var = sum((t - mt) ** 2 for t, _ in readings)
    if var == 0:
        return None
    return 60.0 * sum((t - mt) * (c - mc) for t, c in readings) / var


def warm_until_steady(infer, feed, read_temperature, cap_s=DEFAULT_CAP_S, clock=time.monotonic,
                      window_s=WINDOW_S, every_s=READ_EVERY_S, limit=STEADY_C_PER_MIN):
    """Infer until steady or ``cap_s``; returns the warm-up record. ``read_temperature()`` gives
    (C, sensor) or (None, why not); without a first reading nothing is run and ``steady`` is None."""
    first, sensor = read_temperature()
    if first is None:
        return {"settled": None, "why": sensor, "iterations": 0, "seconds": 0.0}
    start = clock()
    readings = [(0.0, first)]
    next_read = start + every_s
    iterations = 0
    slope = None
    while True:
        infer(feed)
        iterations += 1
        now = clock()
        if now >= next_read:
            temp, _ = read_temperature()
            next_read = now + every_s
            if temp is not None:
                readings.append((now - start, temp))
            recent = [r for r in readings if r[0] >= now - start - window_s]
            slope = slope_c_per_min(recent)
            if now - start >= window_s and slope is not None and abs(slope) < limit:
                return _record(True, "temperature steady: {:+.2f} C/min over the last {:.0f} s".format(
                    slope, window_s), iterations, now - start, sensor, readings, slope)
        if now - start >= cap_s:
            return _record(False, "time cap of {:.0f} s reached before the temperature settled ({})".format(
                cap_s, "{:+.2f} C/min".format(slope) if slope is not None else "no slope yet"),
                iterations, now - start, sensor, readings, slope)


def _record(steady, why, iterations, seconds, sensor, readings, slope):
    return {"settled": steady, "why": why, "iterations": iterations, "seconds": seconds, "sensor": sensor,
            "start_c": readings[0][1], "end_c": readings[-1][1], "slope_c_per_min": slope,
            "rule": "less than {:.0f} C/min over {:.0f} s".format(STEADY_C_PER_MIN, WINDOW_S)}
