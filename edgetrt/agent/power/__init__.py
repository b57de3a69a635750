"""Power and thermal context of a run on a Jetson: clocks (clocks.py), thermal zones (thermal.py),
locking clocks and the power mode for a run (lock.py), the per-run summary and the ``throttled``
verdict from the tegrastats samples (context.py), and the warm-up to a steady temperature of
``--rigorous`` (warmup.py). Standard library only, Python 3.6, like the rest of the agent."""
