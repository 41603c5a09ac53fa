"""The package version, read from the installed distribution's metadata."""

from importlib.metadata import PackageNotFoundError, version


def _installed_version() -> str:
    try:
        return version("chaos-harness")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


__version__ = _installed_version()
"""The installed distribution's version (``0.0.0+unknown`` in a source tree never installed)."""
