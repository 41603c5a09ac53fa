"""Imports point down the layers, packages import no cycle, and no module imports private names.

This file is the one home of the layer table (``LAYERS``, the order of DESIGN's "Layers"); the
README's Development section points here. Each layer may import only itself and the layers before it:

- An *import* is every ``import``/``from ... import`` statement in a module, wherever it stands (top
  level, inside a function, under ``if TYPE_CHECKING:``), relative imports resolved, plus every
  string constant that is the full dotted name of a ``harness`` module (the homes of lazy exports,
  ``pytest_plugins``, the CLI's command modules): a module named by string is imported all the same.
- ``from harness.a import b`` imports the module ``harness.a.b`` when there is one, else ``harness.a``.
  The parent packages Python runs on the way (``harness/__init__.py``) are not counted: they are
  lazy and every module would otherwise depend on the top level.
- Imports within one layer are allowed (``harness.health`` may use ``harness.stats``, both
  primitives), as long as packages import no cycle: for the cycle check each top-level package
  (``harness.health``) or top-level module (``harness.clock``) is one node, except that the pytest
  plugin (``harness.pytest_plugin`` and the fixture modules it loads, ``harness.pytest_fixtures``)
  is one node.
- A module may import a private module by name (``from harness._lazy import lazy_exports``,
  ``from harness.resilience import _window``) but never a private name defined in another module
  (``from harness.pytest_plugin import _SEED_KEY``, or ``plugin._SEED_KEY`` through a module alias).

A deprecated import path kept for one release points up on purpose (an old ``harness.health``
name now served from ``harness.servers``); each such edge is listed in ``DEPRECATED_SHIMS`` with the
release that removes it, and nothing else may point up.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "harness"

# Bottom to top. A module's layer is the one of its longest listed prefix (``harness`` alone is the
# top-level package, not a prefix); every module must have one.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "harness._checks",
            "harness._extras",
            "harness._lazy",
            "harness._version",
            "harness.atomic",
            "harness.clock",
            "harness.conditions",
            "harness.errors",
            "harness.expectation",
            "harness.inputs",
            "harness.journal",
            "harness.mode",
            "harness.seeding",
            "harness.storage",
            "harness.units",
        ),
    ),
    ("primitives", ("harness.health", "harness.resilience", "harness.slo", "harness.stats")),
    ("faults", ("harness.faults",)),
    ("flows", ("harness.rollout",)),
    ("load", ("harness.load",)),
    ("runtime", ("harness.runtime",)),
    ("scenarios", ("harness.scenario",)),
    ("outputs", ("harness.gate", "harness.report", "harness.swarm")),
    ("examples", ("harness.examples",)),
    (
        "edges",
        (
            "harness",
            "harness.__main__",
            "harness._entry",
            "harness.cli",
            "harness.examples",
            "harness.pytest_fixtures",
            "harness.pytest_plugin",
            "harness.servers",
        ),
    ),
)

# (importer, imported) -> the release that removes the deprecated path that needs the upward edge.
DEPRECATED_SHIMS: Mapping[tuple[str, str], str] = {
    ("harness.health", "harness.servers.health"): "0.2.0",  # harness.health.serve_health and friends
}


@dataclass(frozen=True, slots=True)
class Edge:
    """One import: ``source`` imports ``target`` at ``path:line``; ``names`` are the names it takes."""

    source: str
    target: str
    path: Path
    line: int
    names: tuple[str, ...] = ()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


MODULES = _modules()


_LAYER_OF_PREFIX = {prefix: layer for layer, prefixes in LAYERS for prefix in prefixes}


def layer_of(module: str) -> str | None:
    """The layer of ``module`` by its longest listed prefix, or ``None`` when it is in no layer."""
    if module == "harness":
        return _LAYER_OF_PREFIX[module]
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        layer = _LAYER_OF_PREFIX.get(".".join(parts[:n]))
        if layer is not None:
            return layer
    return None


RANK = {layer: i for i, (layer, _) in enumerate(LAYERS)}


def _package_of(module: str) -> str:
    is_package = MODULES[module].name == "__init__.py"
    return module if is_package else module.rpartition(".")[0]


def _resolve_from(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = _package_of(module).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _docstring_nodes(tree: ast.Module) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _statement_edges(module: str, path: Path, node: ast.AST) -> Iterator[Edge]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield Edge(module, alias.name, path, node.lineno)
    elif isinstance(node, ast.ImportFrom):
        base = _resolve_from(module, node)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in MODULES:
                yield Edge(module, sub, path, node.lineno)
            else:
                yield Edge(module, base, path, node.lineno, (alias.name,))


def edges_of(module: str) -> list[Edge]:
    """Every import of ``module`` that names a ``harness`` module (statements and module-name strings)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = _docstring_nodes(tree)
    edges: list[Edge] = []
    for node in ast.walk(tree):
        edges.extend(_statement_edges(module, path, node))
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("harness.")
            and node.value in MODULES
            and id(node) not in docstrings
        ):
            edges.append(Edge(module, node.value, path, node.lineno))
    return [e for e in edges if e.target == "harness" or e.target.startswith("harness.")]


ALL_EDGES = [edge for module in MODULES for edge in edges_of(module)]


def _where(edge: Edge) -> str:
    return f"{edge.path.relative_to(ROOT.parent)}:{edge.line}"


def upward_edges(edges: list[Edge]) -> list[str]:
    """One message per edge whose target sits in a higher layer than its source."""
    found: dict[str, None] = {}
    for edge in edges:
        source, target = layer_of(edge.source), layer_of(edge.target)
        if source is None or target is None or RANK[target] <= RANK[source]:
            continue
        if (edge.source, edge.target) in DEPRECATED_SHIMS:
            continue
        message = (
            f"{_where(edge)}: {edge.source} ({source}) imports {edge.target} ({target}); "
            f"{target} sits above {source}, so move the shared code down or the caller up"
        )
        found[message] = None
    return list(found)


# The plugin's entry module loads its fixture modules, which read the seed back from it: one plugin.
_MERGED_UNITS = {"harness.pytest_fixtures": "harness.pytest_plugin"}


def _unit(module: str) -> str:
    top = ".".join(module.split(".")[:2])
    return _MERGED_UNITS.get(top, top)


def package_cycles(edges: list[Edge]) -> list[str]:
    """Each cycle among top-level packages, as ``a -> b -> a`` with the import that makes each step."""
    graph: dict[str, dict[str, Edge]] = defaultdict(dict)
    for edge in edges:
        if (edge.source, edge.target) in DEPRECATED_SHIMS:
            continue
        a, b = _unit(edge.source), _unit(edge.target)
        if a not in (b, "harness") and b != "harness":
            graph[a].setdefault(b, edge)
    cycles: set[tuple[str, ...]] = set()

    def walk(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph.get(node, {})):
            if nxt in trail:
                loop = trail[trail.index(nxt) :]
                turn = loop.index(min(loop))
                cycles.add(tuple(loop[turn:] + loop[:turn]))
            else:
                walk(nxt, [*trail, nxt])

    for start in sorted(graph):
        walk(start, [start])
    out = []
    for loop in sorted(cycles):
        steps = [graph[a][b] for a, b in zip(loop, (*loop[1:], loop[0]), strict=True)]
        out.append(" -> ".join([*loop, loop[0]]) + " (" + "; ".join(_where(s) for s in steps) + ")")
    return out


_PRIVATE = re.compile(r"^_(?!_)")


def _module_aliases(module: str, tree: ast.Module) -> dict[str, str]:
    """Local names bound to ``harness`` modules: ``import harness.x as y``, ``from harness import x``."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    root = alias.name.partition(".")[0]
                    aliases[root] = root
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(module, node)
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
    return aliases


def _dotted(node: ast.expr, aliases: Mapping[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, aliases)
        return None if base is None else f"{base}.{node.attr}"
    return None


def private_imports(module: str, text: str | None = None) -> list[str]:
    """Each place ``module`` (or ``text`` as that module) takes a private name of another module."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8") if text is None else text)
    found = [
        f"{_where(edge)}: {module} imports private {name!r} from {edge.target}"
        for node in ast.walk(tree)
        for edge in _statement_edges(module, path, node)
        for name in edge.names
        if _PRIVATE.match(name) and edge.target != module and edge.target.startswith("harness")
    ]
    aliases = _module_aliases(module, tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _PRIVATE.match(node.attr)):
            continue
        owner = _dotted(node.value, aliases)
        if owner in MODULES and owner != module and f"{owner}.{node.attr}" not in MODULES:
            where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
            found.append(f"{where}: {module} uses private {owner}.{node.attr}")
    return found


def test_every_module_has_a_layer() -> None:
    """A new module or package must be placed in the layer table; nothing falls into one by default."""
    unplaced = [m for m in MODULES if layer_of(m) is None]
    assert not unplaced, f"place these modules in LAYERS ({__file__}): {unplaced}"


def test_imports_point_down_the_layers() -> None:
    """No module imports one of a higher layer (function-level and TYPE_CHECKING imports count)."""
    found = upward_edges(ALL_EDGES)
    assert not found, "imports that point up the layers:\n" + "\n".join(found)


def test_packages_import_no_cycle() -> None:
    """Same-layer imports are allowed, but no two top-level packages import each other, even indirectly."""
    found = package_cycles(ALL_EDGES)
    assert not found, "import cycles between packages:\n" + "\n".join(found)


def test_no_module_imports_another_modules_private_names() -> None:
    """Private helpers are shared as private modules (``harness._lazy``), never as ``_names``."""
    found = [msg for module in MODULES for msg in private_imports(module)]
    assert not found, "private names imported across modules:\n" + "\n".join(found)


def test_deprecated_shims_still_exist() -> None:
    """Every allowed upward edge is a real import, so the list shrinks when a shim is removed."""
    present = {(e.source, e.target) for e in ALL_EDGES}
    assert [pair for pair in DEPRECATED_SHIMS if pair not in present] == []


def _edges_of_source(module: str, text: str) -> list[Edge]:
    tree = ast.parse(text)
    path = MODULES[module]
    return [
        e
        for node in ast.walk(tree)
        for e in _statement_edges(module, path, node)
        if e.target.startswith("harness.")
    ]


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "harness.stats.judge",
            "def f():\n    from harness.report import RunReport\n",
            "harness/stats/judge.py:2: harness.stats.judge (primitives) imports harness.report (outputs)",
        ),
        (
            "harness.scenario.result",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..gate import compare\n",
            "harness/scenario/result.py:3: harness.scenario.result (scenarios) "
            "imports harness.gate.compare (outputs)",
        ),
        (
            "harness.clock",
            "import harness.pytest_plugin\n",
            "harness/clock.py:1: harness.clock (foundation) imports harness.pytest_plugin (edges)",
        ),
    ],
)
def test_upward_import_is_reported_with_module_line_and_layers(
    module: str, source: str, expected: str
) -> None:
    """The check names the offending module, its line and both layers, for nested and relative imports."""
    [message] = upward_edges(_edges_of_source(module, source))
    assert message.startswith(expected)


def test_same_layer_cycle_is_reported() -> None:
    """Two packages of one layer that import each other are a cycle, whichever module does it."""
    extra = [
        Edge("harness.stats.judge", "harness.health.status", MODULES["harness.stats.judge"], 1),
        Edge("harness.health.monitor", "harness.stats", MODULES["harness.health.monitor"], 2),
    ]
    cycles = package_cycles([*ALL_EDGES, *extra])
    assert any(c.startswith("harness.health -> harness.stats -> harness.health") for c in cycles)


@pytest.mark.parametrize(
    "source",
    [
        "def f():\n    from harness.pytest_plugin import _SEED_KEY\n",
        "import harness.pytest_plugin as plugin\nplugin._SEED_KEY\n",
        "from harness import pytest_plugin\npytest_plugin._SEED_KEY\n",
        "import harness.pytest_plugin\nharness.pytest_plugin._SEED_KEY\n",
        "from .. import pytest_plugin as p\np._SEED_KEY\n",
    ],
)
def test_private_name_import_is_reported(source: str) -> None:
    """A private name taken from another module, by ``from`` import or through a module alias, is caught."""
    [message] = private_imports("harness.pytest_fixtures.faults", source)
    assert message.startswith("harness/pytest_fixtures/faults.py:2: harness.pytest_fixtures.faults")
    assert "_SEED_KEY" in message


def test_private_module_imported_by_name_is_allowed() -> None:
    """Private helper modules are shared by module name."""
    source = "from harness._lazy import lazy_exports\nfrom harness.resilience import _window\n"
    assert private_imports("harness.resilience.breaker", source) == []
