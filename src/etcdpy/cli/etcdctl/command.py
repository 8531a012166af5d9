"""A command tree with spf13/cobra's lookup rules: prefix matching, flags anywhere,
per-command and inherited (persistent) flags, and cobra's errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from etcdpy.cli.etcdctl.flags import Flag, FlagSet, Kind

if TYPE_CHECKING:
    from etcdpy.cli.etcdctl.context import Invocation

Handler = Callable[["Invocation"], None]


@dataclass(eq=False)
class Command:
    use: str
    short: str
    long: str = ""
    run: Handler | None = None
    flags: list[Flag] = field(default_factory=list)
    persistent: list[Flag] = field(default_factory=list)
    children: list[Command] = field(default_factory=list)
    parent: Command | None = None

    def __post_init__(self) -> None:
        self.help_flag = Flag("help", Kind.BOOL, False, f"help for {self.name}", shorthand="h")
        for child in self.children:
            child.parent = self

    @property
    def name(self) -> str:
        return self.use.split(" ", 1)[0]

    @property
    def runnable(self) -> bool:
        return self.run is not None

    def root(self) -> Command:
        return self if self.parent is None else self.parent.root()

    def path(self) -> str:
        return self.name if self.parent is None else f"{self.parent.path()} {self.name}"

    def sorted_children(self) -> list[Command]:
        return sorted(self.children, key=lambda c: c.name)

    def inherited_flags(self) -> list[Flag]:
        """Persistent flags of the ancestors, nearest first, shadowed names skipped."""
        seen = {f.name for f in [*self.flags, *self.persistent]}
        out: list[Flag] = []
        node = self.parent
        while node is not None:
            for flag in node.persistent:
                if flag.name not in seen:
                    seen.add(flag.name)
                    out.append(flag)
            node = node.parent
        return out

    def local_flags(self) -> list[Flag]:
        return [*self.flags, *self.persistent, self.help_flag]

    def flag_set(self) -> FlagSet:
        return FlagSet([*self.local_flags(), *self.inherited_flags()])

    def find_child(self, word: str) -> Command | None:
        """Exact name first, else the one child whose name starts with `word`."""
        for child in self.children:
            if child.name == word:
                return child
        matches = [c for c in self.children if c.name.startswith(word)]
        return matches[0] if len(matches) == 1 else None


def strip_flags(args: Sequence[str], flags: FlagSet) -> list[str]:
    """The words among `args` that may name subcommands, skipping flags and their values."""
    words: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            break
        if arg.startswith("-") and "=" not in arg and (arg.startswith("--") or len(arg) == 2):
            if flags.takes_value(arg):
                if len(rest) <= 1:
                    break
                rest.pop(0)
            continue
        if arg and not arg.startswith("-"):
            words.append(arg)
    return words


def find(root: Command, args: Sequence[str]) -> tuple[Command, list[str]]:
    """The command `args` name and the arguments left for it (flags included)."""
    cmd, rest = root, list(args)
    while True:
        words = strip_flags(rest, cmd.flag_set())
        child = cmd.find_child(words[0]) if words else None
        if child is None:
            return cmd, rest
        rest.remove(words[0])
        cmd = child


def suggestions(cmd: Command, typed: str) -> list[str]:
    """Subcommand names close to `typed` (Levenshtein distance <= 2, or a prefix)."""
    word = typed.lower()
    return [
        child.name
        for child in cmd.children
        if (child.runnable or child.children)
        and (_distance(word, child.name.lower()) <= 2 or child.name.lower().startswith(word))
    ]


def _distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]
