"""Settings for the whole suite."""

from __future__ import annotations

import signal

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Let Ctrl-C reach the commands the tests start, also when pytest runs as a background job.

    A shell without job control starts ``pytest ... &`` with SIGINT ignored, and a child keeps an
    ignored signal ignored across ``exec``: every test that stops a ``harness`` command with
    SIGINT would then wait for an exit that cannot come. A handled signal is reset to its default
    at ``exec``, so the commands (and xdist's workers) start as from a terminal.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
