"""The package version: the one place it is written (``pyproject.toml`` reads it from here).

A constant, not a metadata lookup, so ``harness --version`` and ``import harness`` pay for no
``importlib.metadata``.
"""

__version__ = "0.1.0"
"""The version of this source tree and of the distribution built from it."""

VERSION_LINE = f"chaos-harness {__version__}"
"""What ``harness --version`` prints."""
