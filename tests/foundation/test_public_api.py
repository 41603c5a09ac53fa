"""Every public namespace has a sorted, complete ``__all__`` whose names resolve and say what they are.

A package's ``__all__`` is what a user needs; a module's ``__all__`` is everything public it
defines. Across ``harness.*`` one name means one thing, and every name that moved or was renamed
still resolves, with a ``DeprecationWarning`` naming its new home, for one release.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import pkgutil
import re
import warnings
from pathlib import Path

import pytest

import harness
from harness._lazy import Renamed


def _public_modules() -> list[str]:
    names = ["harness"]
    for info in pkgutil.walk_packages(harness.__path__, prefix="harness."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith("_") or leaf == "__main__":
            continue
        names.append(info.name)
    return sorted(names)


def _isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then CamelCase, then everything else, each alphabetical."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize("name", _public_modules())
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        pytest.skip(f"{name} declares no public names")
    assert list(exported) == sorted(exported, key=_isort_key), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == [], f"{name}.__all__ names missing attributes: {missing}"


@pytest.mark.parametrize("name", [n for n in _public_modules() if n.count(".") <= 1])
def test_public_names_have_docstrings(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    for attr in getattr(module, "__all__", []):
        obj = getattr(module, attr)
        if (
            callable(obj)
            and not isinstance(obj, type(pytest))
            and getattr(obj, "__module__", "").startswith("harness")
        ):
            assert obj.__doc__, f"{name}.{attr} has no docstring"


def _namespaces() -> list[str]:
    """``harness`` and the namespaces one level below it (packages and top-level modules)."""
    return [n for n in _public_modules() if n.count(".") <= 1]


def _defined_here(name: str, obj: object) -> bool:
    """A class, function or other callable (a pytest fixture) whose home is module ``name``."""
    return callable(obj) and not inspect.ismodule(obj) and getattr(obj, "__module__", None) == name


@pytest.mark.parametrize("name", _public_modules())
def test_module_all_lists_every_public_class_and_function_it_defines(name: str) -> None:
    """A public class or function defined in a module is in its ``__all__`` or has a ``_`` name."""
    module = importlib.import_module(name)
    exported = set(getattr(module, "__all__", ()))
    unlisted = sorted(
        attr
        for attr, obj in vars(module).items()
        if not attr.startswith("_") and _defined_here(name, obj) and attr not in exported
    )
    assert unlisted == [], f"{name} defines public names missing from its __all__: {unlisted}"


def _attribute_docstring(package: str, attr: str) -> str | None:
    """The string literal right after ``attr = ...`` in any module of ``package`` (PEP 257)."""
    root = Path(importlib.import_module(package).__file__ or "")
    files = sorted(root.parent.rglob("*.py")) if root.name == "__init__.py" else [root]
    for path in files:
        body = ast.parse(path.read_text()).body
        for node, after in itertools.pairwise(body):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            named = any(isinstance(t, ast.Name) and t.id == attr for t in targets)
            if named and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
                return str(after.value.value)
    return None


@pytest.mark.parametrize("name", _namespaces())
def test_every_exported_name_has_a_docstring(name: str) -> None:
    """Classes, functions and modules carry ``__doc__``; constants an attribute docstring."""
    module = importlib.import_module(name)
    undocumented = []
    for attr in getattr(module, "__all__", ()):
        obj = getattr(module, attr)
        home = str(getattr(obj, "__module__", ""))
        if inspect.isclass(obj) or inspect.ismodule(obj) or (callable(obj) and home.startswith("harness")):
            doc = obj.__doc__
        else:
            doc = _attribute_docstring(name, attr)
        if not (doc or "").strip():
            undocumented.append(attr)
    assert undocumented == [], f"{name}.__all__ names without a docstring: {undocumented}"


def test_one_public_name_means_one_thing_across_namespaces() -> None:
    """Two namespaces may export the same name only when it is the same object."""
    seen: dict[str, tuple[str, object]] = {}
    clashes = []
    for name in _namespaces():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            first = seen.setdefault(attr, (name, obj))
            if first[1] is not obj:
                clashes.append(f"{attr}: {first[0]} and {name}")
    assert clashes == []


def _renamed() -> list[tuple[str, str, Renamed]]:
    return [
        (name, old, record)
        for name in _namespaces()
        for old, record in vars(importlib.import_module(name)).get("_RENAMED", {}).items()
    ]


@pytest.mark.parametrize(("package", "old", "record"), _renamed(), ids=lambda v: str(getattr(v, "name", v)))
def test_old_names_warn_and_resolve_to_their_replacement(package: str, old: str, record: Renamed) -> None:
    """Reading an old name warns, names the replacement, and returns the new object."""
    module = importlib.import_module(package)
    assert old not in module.__all__
    with pytest.warns(DeprecationWarning, match=re.escape(f"{package}.{old} ")) as caught:
        value = getattr(module, old)
    assert record.name in str(caught[0].message)
    assert value is getattr(importlib.import_module(record.home), record.name)
    with pytest.warns(DeprecationWarning, match=re.escape(f"{package}.{old} ")):
        exec(f"from {package} import {old}", {})  # the form users write


def test_the_deprecation_points_at_the_line_that_reads_the_old_name() -> None:
    """The warning's location is the caller's line, so ``-W error`` tracebacks show user code."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from harness.stats import JudgeVerdict  # noqa: F401
    assert caught
    assert {Path(w.filename).name for w in caught} == {Path(__file__).name}
