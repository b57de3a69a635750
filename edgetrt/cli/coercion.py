"""Command-line values converted without pydantic where the answer is certain.

typer (0.2x) coerces each parameter's value through a pydantic TypeAdapter built on first use: a
command that runs imports pydantic (~80 ms here) and builds one adapter per parameter (~1 ms
each), for values that are plain words, integers and decimals. ``plain_first`` gives each
parameter of a built command a coercion that converts those itself, and only those whose result
is the one typer's own gives (tests/cli/test_coercion.py compares both, for every parameter of
every command, over a corpus of values). Anything else — a Path, "1e3", " 5", "abc", a number
with bounds, a type not listed here — goes to typer's own coercion, built then, so what is
accepted and every error message stay typer's.
"""

from __future__ import annotations

from typing import List

#: "no certain answer here": typer's own coercion decides
UNSURE = object()


def plain_first(params) -> None:
    """Put the plain coercion in front of typer's for each of these parameters; a typer without
    pydantic coercion (no ``type_descriptor`` on its parameters) is left as it is."""
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or not hasattr(param, "get_runtime_param") \
                or getattr(param, "_runtime_param", UNSURE) is not None:
            continue
        param._runtime_param = PlainFirst(descriptor, converter_for(descriptor))


class PlainFirst:
    """A parameter's coercion: ``convert`` when it is certain, typer's own (built on first need)
    for everything else."""

    def __init__(self, descriptor, convert):
        self.descriptor = descriptor
        self.convert = convert
        self._typers = None

    def coerce(self, value, param, ctx):
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None  # as typer's RuntimeParam.coerce, without building it
        if self.convert is not None and not (multi and isinstance(value, str)):
            plain = self.convert(value)
            if plain is not UNSURE:
                return plain
        return self.typers(param).coerce(value, param=param, ctx=ctx)

    def typers(self, param):
        """typer's own coercion of ``param``, built as typer builds it (its get_runtime_param)."""
        if self._typers is None:
            param._runtime_param = None
            try:
                self._typers = param.get_runtime_param()
            finally:
                param._runtime_param = self
        return self._typers


def converter_for(descriptor):
    """The plain conversion for this parameter, or None (typer's own for every value)."""
    info = descriptor.parameter_info
    if getattr(info, "parser", None) is not None or descriptor.file_annotation is not None:
        return None
    if any(getattr(info, name, None) is not None for name in ("min", "max")) or getattr(info, "clamp", False):
        return None
    annotation = descriptor.annotation
    if annotation in CONVERTERS:
        return CONVERTERS[annotation]
    if annotation == List[str]:
        return _words
    return None


def _word(value):
    return value if type(value) is str else UNSURE


def _integer(value):
    if type(value) is int:
        return value
    if type(value) is str:
        digits = value[1:] if value.startswith("-") else value
        if 0 < len(digits) <= 18 and digits.isascii() and digits.isdigit():
            return int(value)
    return UNSURE


def _decimal(value):
    if type(value) is float:
        return value
    if type(value) is str:
        whole, dot, fraction = (value[1:] if value.startswith("-") else value).partition(".")
        if all(0 < len(part) <= 15 and part.isascii() and part.isdigit() for part in (whole, fraction)[:1 + bool(dot)]):
            return float(value)
    return UNSURE


def _words(value):
    if isinstance(value, (list, tuple)) and all(type(item) is str for item in value):
        return list(value)
    return UNSURE


#: the plain conversion of each annotation typer hands it (Optional[X] arrives as X); a Path is
#: typer's own (its existence and type checks), a bool flag typer passes through itself
CONVERTERS = {str: _word, int: _integer, float: _decimal}
