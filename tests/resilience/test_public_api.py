"""The public face of harness.resilience: sorted, complete, documented."""

from __future__ import annotations

from harness import resilience


def test_all_is_sorted_and_resolves() -> None:
    """__all__ is sorted and every name in it exists."""
    assert list(resilience.__all__) == sorted(resilience.__all__)
    for name in resilience.__all__:
        assert getattr(resilience, name) is not None


def test_public_names_have_docstrings() -> None:
    """Every public class and function carries a docstring."""
    for name in resilience.__all__:
        obj = getattr(resilience, name)
        if isinstance(obj, type) or callable(obj):
            assert (obj.__doc__ or "").strip(), name
