"""Exceptions: EdgetrtError is a user-facing failure (one line + hint); InternalError is a bug."""

from __future__ import annotations

class EdgetrtError(Exception):
    """Something the user can fix: bad input, an unreachable host, a missing package.

    The CLI prints ``error: <message>`` and, when given, ``hint: <hint>``, then exits non-zero:
    1 for a failure of the work itself, 2 for usage and configuration errors (UsageError,
    ConfigError), 3 when a device could not be reached, refused us, or answered nonsense
    (TransportError, HostKeyError, AgentError). A command whose report is complete but holds a
    run that did not end ``ok`` also exits 1.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(EdgetrtError):
    """A name, flag or value the user gave does not exist or does not fit."""

    exit_code = 2


class ConfigError(EdgetrtError):
    """A YAML recipe or device file is malformed; the message names file:line."""

    exit_code = 2


class MissingDependencyError(EdgetrtError):
    """An optional heavy package (tensorflow, onnxruntime, tf2onnx, matplotlib) is not installed."""


class ConversionError(EdgetrtError):
    """The host could not turn the model into the requested artifact."""


class ModelFileError(EdgetrtError):
    """A model, weights or engine file is missing, truncated or of the wrong kind."""


class TransportError(EdgetrtError):
    """Connecting to, authenticating with, or copying to a device failed."""

    exit_code = 3


class HostKeyError(TransportError):
    """The device's SSH host key is unknown or has changed."""


class AgentError(EdgetrtError):
    """The on-device agent failed or answered something the host cannot read."""

    exit_code = 3


class InternalError(Exception):
    """A bug in edgetrt: shown with a traceback, never dressed up as a user error."""
