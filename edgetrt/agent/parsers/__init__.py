"""Pure parsers for the text a Jetson produces: one module per format.

Each parser takes text (or one line) and returns plain dicts of JSON-friendly values. None of them
reads files, runs commands or raises on odd input: what cannot be read is left out or set to None,
so the caller (the probe, the benchmark runner) decides what an absent value means.
"""
