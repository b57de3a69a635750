"""A typer command group that builds a command only when it is used.

Typer makes every command's click parameters from its function signature (annotations evaluated
twice, defaults copied) when the app becomes a click group: for eight commands and their ~100
flags that is most of what `edgetrt --help` spends after importing typer. Here the group holds
"module:attribute" names instead: `edgetrt deploy ...` builds `deploy` alone, and `edgetrt --help`
builds nothing — it lists each command's first docstring sentence, as click would.

Commands built here keep third-party logging quiet when they run (not when they only print their
help, which then imports no logging).
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import MutableMapping

import typer
from typer.core import TyperCommand, TyperGroup

#: the root app's settings, given to each command built on its own
APP_SETTINGS = {"add_completion": False, "pretty_exceptions_enable": False, "rich_markup_mode": None}


def lazy_group(commands: dict[str, str]) -> type:
    """A TyperGroup class whose commands are ``commands`` (name -> "module:attribute", in order);
    the attribute is a command function or a ``typer.Typer`` app (a sub-group, such as doctor)."""

    class LazyCommandGroup(LazyGroupBase):
        lazy_commands = dict(commands)

    return LazyCommandGroup


class LazyCommands(MutableMapping):
    """name -> click command, each built on first access. Keys are known without building, so
    typer's "did you mean" suggestions still see every name."""

    def __init__(self, targets: dict[str, str], built: dict):
        self.targets = targets
        self.built = dict(built)

    def __getitem__(self, name):
        if name not in self.built:
            if name not in self.targets:
                raise KeyError(name)
            self.built[name] = build_command(name, resolve(self.targets[name]))
        return self.built[name]

    def __setitem__(self, name, command):
        self.built[name] = command

    def __delitem__(self, name):
        self.built.pop(name, None)
        self.targets.pop(name, None)

    def __iter__(self):
        return iter(dict.fromkeys(list(self.targets) + list(self.built)))

    def __len__(self):
        return len(set(self.targets) | set(self.built))


class LazyGroupBase(TyperGroup):
    lazy_commands: dict[str, str] = {}

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self.commands = LazyCommands(dict(self.lazy_commands), self.commands)

    def list_commands(self, ctx) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx, formatter) -> None:
        """Each command's one-line help from its docstring, without building the command."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.commands.built.get(name) or _Listing(name, resolve(self.commands.targets[name]))
            if not command.hidden:
                rows.append((name, command))
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in rows])

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        # A group's --help option is processed even when a subcommand's --help was asked for. Not
        # given, its value is None, which typer coerces through a pydantic TypeAdapter (importing
        # pydantic: ~80 ms); False is a bool, which typer passes through as it is.
        if option is not None and option.default is None:
            option.default = False
        return option


def resolve(target: str):
    """The command function or typer app named "module:attribute"."""
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)


def build_command(name: str, obj):
    """The click command typer makes of one command function, or the group of a typer app."""
    from edgetrt.cli.coercion import plain_first

    if isinstance(obj, typer.Typer):
        return typer.main.get_command(obj)
    single = typer.Typer(**APP_SETTINGS)
    single.command(name, cls=QuietCommand)(obj)
    command = typer.main.get_command(single)
    plain_first(command.params)  # no pydantic for plain values (cli/coercion.py)
    return command


class QuietCommand(TyperCommand):
    """A command that, when it runs, first keeps third-party log noise off the terminal."""

    def get_help_option(self, ctx):
        from edgetrt.cli.coercion import plain_first

        option = super().get_help_option(ctx)
        if option is not None:
            plain_first([option])  # made here, not among params: its unset value is None, not a bool
        return option

    def invoke(self, ctx):
        if os.environ.get("EDGETRT_VERBOSE") != "1":  # set by main() for --verbose
            quiet_libraries()
        return super().invoke(ctx)


def quiet_libraries() -> None:
    """Third-party log noise stays off the terminal (and out of --json): TensorFlow's C++ INFO and
    WARNING lines (inherited by the agent's measuring processes on this host), absl, paramiko."""
    import logging

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ("paramiko", "absl", "tensorflow", "tf2onnx", "h5py"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class _Listing(TyperCommand):
    """A command as its group's help lists it: the name and the docstring, no parameters."""

    def __init__(self, name: str, obj):
        if isinstance(obj, typer.Typer):
            text = obj.info.help if isinstance(obj.info.help, str) else None
            text = inspect.cleandoc(text) if text else None
        else:
            text = inspect.getdoc(obj)
        super().__init__(name=name, help=text)
