"""Importing the user's code named in scenario files (``"package.module:attr"``)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from harness.errors import InvalidConfig

__all__ = ["resolve_callable"]


def resolve_callable(target: str) -> Callable[..., Any]:
    """Import ``"package.module:attr"``; a clear ``InvalidConfig`` when it is missing.

    As uvicorn does for apps, the current directory is importable, so a project's own modules
    (``myproject.service:make``) resolve when ``harness run`` is started from its root.
    """
    module_name, _, attr = target.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidConfig(f"callable {target!r}: cannot import module {module_name!r} ({exc})") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InvalidConfig(f"callable {target!r}: {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise InvalidConfig(f"callable {target!r} is a {type(obj).__name__}, not a callable")
    return obj  # type: ignore[no-any-return]
