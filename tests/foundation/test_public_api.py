"""Every public namespace has a sorted, complete ``__all__`` whose names resolve."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import harness


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
