"""The on-device agent.

Runs on the device (a Jetson Nano has Python 3.6): standard library only at import time,
numpy / tensorrt / onnxruntime / tensorflow imported lazily by the backend that needs them.
It never imports the host package; modules here use relative imports so the same files work
as ``python -m edgetrt.agent`` on the host and inside the zipapp shipped to a device.
The protocol the host and the agent speak is defined once, in ``protocol.py``.
"""
