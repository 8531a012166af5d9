"""The Raft core stays pure: no I/O, clocks, threads, logging or randomness source, no server imports."""

from __future__ import annotations

import ast
from pathlib import Path

import etcdpy.raft

PACKAGE = Path(etcdpy.raft.__file__).parent
FORBIDDEN = {"asyncio", "socket", "threading", "time", "os", "logging", "random", "subprocess", "selectors"}


def _type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _runtime_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of every import outside `if TYPE_CHECKING:` blocks."""
    found: list[tuple[int, str]] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if _type_checking_block(node):
            continue
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, "." * node.level + (node.module or "")))
        stack.extend(ast.iter_child_nodes(node))
    return found


def _all_imports(tree: ast.Module) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def test_package_has_modules() -> None:
    assert len(list(PACKAGE.rglob("*.py"))) > 10


def test_no_impure_imports() -> None:
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for line, module in _runtime_imports(tree):
            if module.split(".")[0] in FORBIDDEN:
                offences.append(f"{path.relative_to(PACKAGE)}:{line}: imports {module}")
    assert offences == []


def _random_attribute(node: ast.AST) -> ast.Attribute | None:
    """`node` if it is a `random.<name>` expression, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "random":
        return node
    return None


def test_random_only_as_a_type() -> None:
    """`random` may be named for annotations only (`random.Random`); nothing may call into the module."""
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            attr = _random_attribute(node)
            if attr is not None and attr.attr != "Random":
                offences.append(f"{path.relative_to(PACKAGE)}:{attr.lineno}: random.{attr.attr}")
            if isinstance(node, ast.Call) and _random_attribute(node.func) is not None:
                offences.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: calls into random")
    assert offences == []


# Pure helpers of etcdpy.pkg that the core may use (stdlib-only text functions, no I/O).
PURE_PKG_MODULES = frozenset({"etcdpy.pkg.goquote"})


def test_only_raft_from_etcdpy() -> None:
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for line, module in _all_imports(tree):
            if module.startswith("etcdpy") and not (
                module == "etcdpy.raft" or module.startswith("etcdpy.raft.") or module in PURE_PKG_MODULES
            ):
                offences.append(f"{path.relative_to(PACKAGE)}:{line}: imports {module}")
            if module.startswith(".."):
                offences.append(f"{path.relative_to(PACKAGE)}:{line}: relative import {module}")
    assert offences == []
