"""PEP 562 hooks for packages whose public names are imported from submodules on first use."""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def _load(home: str, name: str) -> Any:
    module = importlib.import_module(home)
    return module if home.endswith(f".{name}") else getattr(module, name)


def lazy_exports(
    package: str, homes: Mapping[str, str], *, moved: Mapping[str, str] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name in ``homes`` is imported from its module.

    A name whose home module ends with ``.<name>`` is that module itself
    (``harness.faults.redis_faults``).
    The value is cached in the package, so the hook runs once per name.
    ``moved`` maps names that now live elsewhere to their new module: they still resolve, with a
    ``DeprecationWarning`` on every use that names the new import path.
    """
    namespace = sys.modules[package].__dict__
    relocated = dict(moved or {})

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is not None:
            value = _load(home, name)
            namespace[name] = value
            return value
        new_home = relocated.get(name)
        if new_home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        warnings.warn(
            f"{package}.{name} moved to {new_home}.{name}; import it from there "
            f"(the old path will be removed in the next release).",
            DeprecationWarning,
            stacklevel=2,
        )
        return _load(new_home, name)

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
