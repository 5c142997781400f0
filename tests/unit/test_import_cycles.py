"""The house has no import cycle (issue K2): among Observer's own modules, counting every import —
at the top, inside functions, and under `TYPE_CHECKING` — no module reaches itself again."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "graphs", "discord_adapter", "command_line")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The project modules this file imports (a `from package import name` counts the submodule when
    `name` is one, else the package)."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    found.add(f"{base}.{alias.name}")
                elif base in modules:
                    found.add(base)
    return found


def with_parents(importer: str, imported: set[str], modules: set[str]) -> set[str]:
    """Importing `a.b.c` from outside package `a.b` runs `a/b/__init__.py` first: an edge to it too
    (from inside the package, the package is already being imported)."""
    found = set(imported)
    for target in imported:
        parts = target.split(".")
        for n in range(1, len(parts)):
            parent = ".".join(parts[:n])
            if parent in modules and importer != parent and not importer.startswith(parent + "."):
                found.add(parent)
    return found


def graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts]
    modules = {module_name(p) for p in files}
    edges = {module_name(p): imports_of(p, modules) - {module_name(p)} for p in files}
    return {name: with_parents(name, imported, modules) for name, imported in edges.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_checker_finds_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    # A package whose __init__ imports a module that imports a submodule of that package back.
    modules = {"p", "p.card", "q.book", "q"}
    edges = {"p": {"q.book"}, "p.card": set(), "q.book": {"p.card"}, "q": set()}
    assert cycles({m: with_parents(m, e, modules) for m, e in edges.items()}) == [["p", "q.book"]]


def test_no_module_imports_itself_back():
    assert cycles(graph()) == []
