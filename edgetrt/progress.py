"""How the library reports long work without printing: the CLI passes a rich-backed Progress."""

from __future__ import annotations


class Progress:
    """No-op base; override what you display."""

    def stage(self, text: str) -> None:
        """A new step began (converting, uploading, measuring ...)."""

    def start_bytes(self, total: int, text: str) -> None:
        """A transfer of ``total`` bytes begins."""

    def advance_bytes(self, n: int) -> None:
        """``n`` more bytes went out."""

    def start_steps(self, total: int, text: str) -> None:
        """A sequence of ``total`` steps begins (runs of a matrix)."""

    def step_done(self, text: str) -> None:
        """One step finished; ``text`` says how."""

    def warn(self, text: str) -> None:
        """Something the user should know, that does not stop the work."""

    def fleet(self, names: list[str]) -> None:
        """Several devices will work at once, in parallel: these."""

    def device(self, name: str) -> "Progress":
        """The progress of one device's work (called from that device's thread)."""
        return self


NULL_PROGRESS = Progress()
