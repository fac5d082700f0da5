"""adhere's packages form layers: no import cycle between them, counting imports inside functions
(a lazy import is still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "adhere"


def package_of(module: str) -> str | None:
    """``adhere.bench.generate`` -> ``bench``; top-level modules are their own layer."""
    parts = module.split(".")
    if parts[0] != "adhere" or len(parts) < 2:
        return None
    return parts[1]


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        source = package_of(module) or "adhere"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                target = package_of(name)
                if target and target != source:
                    edges.setdefault(source, set()).add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


# The layers, lowest first; a package may import only those below it (and the top-level helper
# modules: errors, jsonl, lock, settings, registry, resume, hub).
LAYERS = ["text", "constraints", "models", "improve", "bench", "synth", "train", "report", "recipe"]
HELPERS = {"errors", "jsonl", "lock", "settings", "registry", "resume", "hub"}


def test_no_import_cycle_between_packages():
    assert cycles(graph()) == []


def test_each_package_imports_only_the_layers_below_it():
    edges = graph()
    rank = {name: index for index, name in enumerate(LAYERS)}
    upward = sorted((source, target) for source, targets in edges.items() if source in rank
                    for target in targets if target in rank and rank[target] >= rank[source])  # fmt: skip
    assert upward == []
