"""PEP 562 hooks for packages: public names imported on first use, and old names kept for a release.

``lazy_exports(package, homes)`` imports each public name from its module the first time it is
read, so importing the package stays cheap; a name whose module needs an optional extra that is
not installed raises :class:`~harness.errors.MissingExtra` naming the extra. ``renamed`` maps an
old public name (one that moved to another module, or took a new name) to a :class:`Renamed`
record: reading it still works for one release, returns the new object and emits a
``DeprecationWarning`` that names the new import.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from types import MappingProxyType

# Imported by every package's __init__ (and so by ``harness --version``): no typing or dataclasses
# at run time, which would cost more than the rest of the start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["Renamed", "lazy_exports"]


def _load(home: str, name: str, package: str = "") -> Any:
    try:
        module = importlib.import_module(home)
    except ModuleNotFoundError as exc:
        from harness._extras import missing_extra

        raise missing_extra(exc, f"{package or home}.{name}") from exc
    return module if home.endswith(f".{name}") else getattr(module, name)


class Renamed:
    """An old public name that now resolves to ``home.name``; ``advice`` replaces the default hint.

    A read-only record (a plain class rather than a dataclass, to keep ``dataclasses`` out of start-up).
    """

    __slots__ = ("advice", "home", "name")
    home: str
    name: str
    advice: str

    def __init__(self, home: str, name: str, advice: str = "") -> None:
        for key, value in (("home", home), ("name", name), ("advice", advice)):
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Renamed is read-only; cannot set {key!r}")

    def __repr__(self) -> str:
        return f"Renamed(home={self.home!r}, name={self.name!r}, advice={self.advice!r})"

    def message(self, package: str, old: str) -> str:
        """What the ``DeprecationWarning`` says: the old name and the import that replaces it."""
        if self.advice:
            return f"{package}.{old} is deprecated; {self.advice} (the old name goes in the next release)."
        if self.name == old:
            return (
                f"{package}.{old} moved to {self.home}.{old}; import it from there "
                "(the old path will be removed in the next release)."
            )
        return f"{package}.{old} is now {self.home}.{self.name} (the old name goes in the next release)."

    def resolve(self, package: str, old: str) -> Any:
        """The new object, after a ``DeprecationWarning`` naming the replacement."""
        warnings.warn(self.message(package, old), DeprecationWarning, stacklevel=3)
        return _load(self.home, self.name)


_NONE: Mapping[str, Renamed] = MappingProxyType({})


def lazy_exports(
    package: str, homes: Mapping[str, str], *, renamed: Mapping[str, Renamed] = _NONE
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name in ``homes`` is imported from its module.

    A name whose home module ends with ``.<name>`` is that module itself
    (``harness.faults.redis_faults``). The value is cached in the package, so the hook runs once
    per name. A name in ``renamed`` is never cached: every read warns.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is not None:
            value = _load(home, name, package)
            namespace[name] = value
            return value
        old = renamed.get(name)
        if old is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return old.resolve(package, name)

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
