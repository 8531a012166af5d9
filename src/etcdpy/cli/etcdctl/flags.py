"""Command-line flags with spf13/pflag's syntax, defaults display and error texts.

Accepted: `--flag=value`, `--flag value`, bool `--flag` / `--flag=false`, `-w json`,
`-wjson`, `-w=json`, flags interleaved with arguments, `--` ending the flags.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from etcdpy.cli.etcdctl import gofmt
from etcdpy.pkg import goquote


class Kind(enum.Enum):
    """A flag's value type; `.value` is the type name pflag shows in usage text."""

    BOOL = "bool"
    STRING = "string"
    INT = "int"
    DURATION = "duration"
    STRINGS = "strings"


class FlagError(Exception):
    """A command line pflag rejects; `str()` is pflag's message."""


class HelpRequested(Exception):
    """`-h`/`--help` was given."""


@dataclass
class Flag:
    name: str
    kind: Kind
    default: Any
    usage: str
    shorthand: str = ""
    value: Any = None
    changed: bool = False
    # A stringSlice flag's first Set replaces the default; later ones append.
    _appended: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.value = list(self.default) if self.kind is Kind.STRINGS else self.default
        self.changed = False
        self._appended = False

    @property
    def display_name(self) -> str:
        return f"-{self.shorthand}, --{self.name}" if self.shorthand else f"--{self.name}"

    @property
    def no_opt_default(self) -> str:
        """The value a bare `--flag` means (only bools may stand alone)."""
        return "true" if self.kind is Kind.BOOL else ""

    @property
    def default_text(self) -> str:
        """pflag's DefValue: the default as the flag's String() renders it."""
        return self.render(self.default)

    @property
    def value_text(self) -> str:
        return self.render(self.value)

    def render(self, value: Any) -> str:
        if self.kind is Kind.BOOL:
            return "true" if value else "false"
        if self.kind is Kind.DURATION:
            return gofmt.format_duration(value)
        if self.kind is Kind.STRINGS:
            return "[" + ",".join(value) + "]"
        return str(value)

    def set(self, text: str) -> None:
        try:
            value = self._parse(text)
        except gofmt.GoSyntaxError as err:
            raise FlagError(
                f"invalid argument {goquote.quote(text)} for {goquote.quote(self.display_name)} flag: {err}"
            ) from None
        if self.kind is Kind.STRINGS:
            self.value = [*self.value, *value] if self._appended else value
            self._appended = True
        else:
            self.value = value
        self.changed = True

    def _parse(self, text: str) -> Any:
        if self.kind is Kind.BOOL:
            return gofmt.parse_bool(text)
        if self.kind is Kind.INT:
            return gofmt.parse_int(text, 0)
        if self.kind is Kind.DURATION:
            return gofmt.parse_duration(text)
        if self.kind is Kind.STRINGS:
            return [] if text == "" else text.split(",")
        return text


class FlagSet:
    """An ordered set of flags; `parse` fills them in and returns the positional arguments."""

    def __init__(self, flags: Iterable[Flag] = ()) -> None:
        self._flags: dict[str, Flag] = {}
        for flag in flags:
            self.add(flag)

    def add(self, flag: Flag) -> None:
        self._flags[flag.name] = flag

    def __getitem__(self, name: str) -> Flag:
        return self._flags[name]

    def by_shorthand(self, letter: str) -> Flag | None:
        return next((f for f in self._flags.values() if f.shorthand == letter), None)

    def value(self, name: str) -> Any:
        return self._flags[name].value

    def parse(self, args: Sequence[str]) -> list[str]:
        rest = list(args)
        positional: list[str] = []
        while rest:
            arg = rest.pop(0)
            if len(arg) < 2 or not arg.startswith("-"):
                positional.append(arg)
            elif arg == "--":
                positional.extend(rest)
                break
            elif arg.startswith("--"):
                self._parse_long(arg, rest)
            else:
                self._parse_shorts(arg, rest)
        return positional

    def _parse_long(self, arg: str, rest: list[str]) -> None:
        body = arg[2:]
        if body.startswith(("-", "=")):
            raise FlagError(f"bad flag syntax: {arg}")
        name, eq, text = body.partition("=")
        flag = self._flags.get(name)
        if flag is None:
            if name == "help":
                raise HelpRequested
            raise FlagError(f"unknown flag: --{name}")
        if not eq:
            if flag.no_opt_default:
                text = flag.no_opt_default
            elif rest:
                text = rest.pop(0)
            else:
                raise FlagError(f"flag needs an argument: {arg}")
        flag.set(text)

    def _parse_shorts(self, arg: str, rest: list[str]) -> None:
        shorts = arg[1:]
        while shorts:
            letter = shorts[0]
            flag = self.by_shorthand(letter)
            if flag is None:
                if letter == "h":
                    raise HelpRequested
                raise FlagError(f"unknown shorthand flag: '{letter}' in -{shorts}")
            if len(shorts) > 2 and shorts[1] == "=":
                text, shorts = shorts[2:], ""
            elif flag.no_opt_default:
                text, shorts = flag.no_opt_default, shorts[1:]
            elif len(shorts) > 1:
                text, shorts = shorts[1:], ""
            elif rest:
                text, shorts = rest.pop(0), ""
            else:
                raise FlagError(f"flag needs an argument: '{letter}' in -{shorts}")
            flag.set(text)

    def takes_value(self, arg: str) -> bool:
        """Whether `arg` (a flag without `=value`) consumes the next argument, as cobra assumes
        when it looks for the subcommand name among the arguments."""
        if arg.startswith("--"):
            flag = self._flags.get(arg[2:])
            return flag is None or not flag.no_opt_default
        flag = self.by_shorthand(arg[1:])
        return flag is None or not flag.no_opt_default
