"""Seeds: one run seed, many named independent random streams derived from it.

``Seeds(7).stream("faults/redis")`` is a ``random.Random`` whose draws depend only on the run
seed and the name: the same in every process, on every machine and Python version (the name is
hashed with SHA-256, never with ``hash()``). Different names give statistically independent
streams, so adding a new consumer of randomness never shifts the draws of existing ones.
"""

from __future__ import annotations

import hashlib
import os
import random
from typing import TYPE_CHECKING

from harness._checks import invalid
from harness.errors import InvalidConfig

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MAX_SEED", "Seeds", "derive_seed", "parse_seed", "random_seed"]

MAX_SEED = 2**63 - 1
"""Seeds are non-negative integers below 2**63 so they survive JSON, YAML and shells."""


def derive_seed(seed: int, name: str) -> int:
    """A 256-bit integer derived from ``seed`` and ``name``, stable everywhere."""
    digest = hashlib.sha256(f"{seed}\x1f{name}".encode()).digest()
    return int.from_bytes(digest, "big")


def random_seed() -> int:
    """A fresh seed from the operating system's entropy, in ``[0, MAX_SEED]``."""
    return int.from_bytes(os.urandom(8), "big") & MAX_SEED


def parse_seed(text: str | int) -> int:
    """Parse a seed given on a command line or in a file; raise ``InvalidConfig`` if it is not one."""
    if isinstance(text, bool):
        raise invalid("seed", text, "an integer in [0, 2**63-1]", "a boolean is not a seed")
    if isinstance(text, int):
        value = text
    else:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise InvalidConfig(
                f"seed {text!r} is not an integer; pass a whole number such as --chaos-seed=1234.",
                field="seed",
                value=text,
            ) from None
    if not 0 <= value <= MAX_SEED:
        raise invalid("seed", value, "an integer in [0, 2**63-1]", "pass a whole number such as 1234")
    return value


class Seeds:
    """A run seed and the named streams derived from it.

    >>> a = Seeds(7).stream("faults/redis").random()
    >>> a == Seeds(7).stream("faults/redis").random()
    True
    """

    __slots__ = ("_path", "seed")

    def __init__(self, seed: int, *, _path: str = "") -> None:
        self.seed = parse_seed(seed)
        self._path = _path

    def _name(self, name: str) -> str:
        if not name:
            raise invalid("name", name, "a non-empty stream name", "for example 'faults/redis'")
        return f"{self._path}/{name}" if self._path else name

    def stream(self, name: str) -> random.Random:
        """A fresh ``random.Random`` for ``name``; two calls with one name give equal streams."""
        return random.Random(derive_seed(self.seed, self._name(name)))  # noqa: S311 - simulation, not crypto

    def numpy(self, name: str) -> np.random.Generator:
        """A fresh numpy ``Generator`` (PCG64) for ``name``."""
        import numpy as np

        return np.random.Generator(np.random.PCG64(derive_seed(self.seed, self._name(name))))

    def int_seed(self, name: str) -> int:
        """A derived 63-bit integer seed for ``name`` (to hand to other libraries)."""
        return derive_seed(self.seed, self._name(name)) & MAX_SEED

    def child(self, name: str) -> Seeds:
        """Seeds whose streams are namespaced under ``name`` (for a test, a proxy, a scenario)."""
        return Seeds(self.seed, _path=self._name(name))

    def __repr__(self) -> str:
        suffix = f", path={self._path!r}" if self._path else ""
        return f"Seeds({self.seed}{suffix})"
