"""edgetrt: convert a TensorFlow model on the host, deploy it to an NVIDIA Jetson, measure it there."""

__version__ = "0.1.0"
