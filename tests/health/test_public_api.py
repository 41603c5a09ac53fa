"""The public face of harness.health: sorted, complete, documented, lazily loaded."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from harness import health


def test_all_is_sorted_and_every_name_resolves() -> None:
    """__all__ is sorted, and each name resolves to an object."""
    assert health.__all__ == sorted(health.__all__)
    for name in health.__all__:
        assert getattr(health, name) is not None, name


def test_lazy_exports_match_all() -> None:
    """Every exported name is loadable lazily and nothing else is."""
    assert sorted(health._EXPORTS) == health.__all__
    assert set(health.__all__) <= set(dir(health))


def test_unknown_name_raises_attribute_error() -> None:
    """Asking for a name the package does not have is an AttributeError, as usual."""
    with pytest.raises(AttributeError, match="NotAThing"):
        health.NotAThing  # type: ignore[attr-defined]  # noqa: B018


def test_public_classes_and_functions_have_docstrings() -> None:
    """Every public class and function carries a docstring."""
    for name in health.__all__:
        obj = getattr(health, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name


def test_importing_the_package_loads_no_component() -> None:
    """Importing harness.health and its fixtures (as the pytest plugin does) loads none of its modules."""
    code = (
        "import sys, harness.health, harness.pytest_fixtures.health; "
        "print(sorted(m for m in sys.modules if m.startswith('harness.health.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["HealthServer", "health_app", "serve_health"])
def test_moved_server_names_still_resolve_with_a_deprecation_warning(name: str) -> None:
    """The health endpoint moved to harness.servers; the old names warn and give the same object."""
    from harness import servers

    with pytest.warns(
        DeprecationWarning, match=rf"harness\.health\.{name} moved to harness\.servers\.health"
    ):
        value = getattr(health, name)
    assert value is getattr(servers, name)
    assert name not in health.__all__
