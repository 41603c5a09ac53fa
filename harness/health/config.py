"""``ConfigStore``: layered configuration with validation, callbacks, snapshots and rollback.

Values come from sources with a fixed precedence, lowest first: ``DEFAULTS``, ``FILE``
(YAML or JSON, loaded safely), ``ENVIRONMENT`` (``PREFIX_SECTION__KEY=value``), ``STORAGE``
(a JSON object under one key of a :class:`~harness.storage.Storage`) and ``OVERRIDE``
(:meth:`ConfigStore.set`). Keys are dotted paths (``db.pool.size``); nested mappings are
flattened on the way in. Values are JSON.

Every change is validated as a whole before it takes effect: a validator that rejects a
value raises :class:`~harness.errors.InvalidConfig` with the validator's message and the
store keeps its previous values. Each accepted change becomes a new version (a snapshot);
:meth:`ConfigStore.rollback` returns to any kept version, which is itself a new version.

History cannot be changed from outside: snapshots hold frozen values (mappings are read-only
``MappingProxyType``s, lists are tuples), and every read hands out a copy. Values nested deeper
than ``MAX_DEPTH`` levels are refused. Change callbacks are delivered in version order, one at a
time, even when several threads write at once.
"""

from __future__ import annotations

import copy
import enum
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from harness._checks import integer, within
from harness.atomic import write_atomic
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig
from harness.storage.base import JSONValue, Storage, encode

__all__ = ["MAX_DEPTH", "ConfigChange", "ConfigSnapshot", "ConfigSource", "ConfigStore", "Validator"]

_log = logging.getLogger("harness.health.config")
EXPORT_FORMAT = "chaos-harness-config/1"
MAX_DEPTH = 64
"""The deepest nesting of lists and mappings a configuration value may have."""


class ConfigSource(enum.Enum):
    """Where a value came from, lowest precedence first."""

    DEFAULTS = "defaults"
    FILE = "file"
    ENVIRONMENT = "environment"
    STORAGE = "storage"
    OVERRIDE = "override"

    @property
    def precedence(self) -> int:
        """Higher wins."""
        return _ORDER.index(self)

    @classmethod
    def parse(cls, text: str | ConfigSource) -> ConfigSource:
        """Parse a source by name, listing the valid ones on a bad value."""
        if isinstance(text, ConfigSource):
            return text
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            valid = ", ".join(s.value for s in cls)
            raise InvalidConfig(f"{text!r} is not a config source; valid: {valid}", value=text) from None


_ORDER = list(ConfigSource)
_Edit = Callable[[Mapping[ConfigSource, dict[str, Any]]], Mapping[ConfigSource, dict[str, Any]]]

Validator = Callable[[Any], "str | bool | None"]
"""Checks one value: return ``None``/``True`` to accept, a message (or ``False``) to reject, or raise
``ValueError``/``TypeError`` with the message."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigChange:
    """One key's change, as change callbacks receive it (``old``/``new`` are ``None`` when absent)."""

    key: str
    old: JSONValue
    new: JSONValue
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigSnapshot:
    """A kept version: the layers that produced it, its effective values and why it was made."""

    version: int
    reason: str
    layers: Mapping[ConfigSource, Mapping[str, JSONValue]]
    values: Mapping[str, JSONValue] = field(default_factory=dict)


def _check_depth(value: Any, where: str) -> None:
    """Refuse values nested deeper than ``MAX_DEPTH`` (iteratively: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, Mapping):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise InvalidConfig(
                f"config {where} is nested more than {MAX_DEPTH} levels deep; flatten it.",
                field=where,
            )
        stack.extend((child, depth + 1) for child in children)


def _freeze(value: JSONValue) -> JSONValue:
    """A read-only copy: mappings become ``MappingProxyType``, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: JSONValue) -> JSONValue:
    """A plain JSON copy of a frozen value: dicts and lists again."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, JSONValue]:
    """``{"db": {"host": "x"}}`` -> ``{"db.host": "x"}``; lists and scalars are leaves."""
    if not isinstance(data, Mapping):
        raise InvalidConfig(
            f"config {prefix.rstrip('.') or 'data'} must be a mapping of settings, "
            f"not {type(data).__name__}.",
            field=prefix.rstrip(".") or None,
        )
    _check_depth(data, prefix.rstrip(".") or "data")
    flat: dict[str, JSONValue] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            raise InvalidConfig(f"config key {key!r} must be a non-empty string.", field="key", value=key)
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def _parse_env_value(name: str, text: str) -> JSONValue:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    except RecursionError:
        raise InvalidConfig(
            f"environment variable {name} is nested more than {MAX_DEPTH} levels deep.", field=name
        ) from None
    _check_depth(value, name)
    return value


def _run_validator(validator: Validator, key: str, value: Any) -> str | None:
    try:
        verdict = validator(value)
    except (ValueError, TypeError) as exc:
        return str(exc)
    if verdict is None or verdict is True:
        return None
    if verdict is False:
        return f"rejected by {getattr(validator, '__name__', 'validator')}"
    return str(verdict)


class ConfigStore:
    """Layered, validated, versioned configuration. Thread-safe; callbacks run after commits."""

    def __init__(
        self,
        defaults: Mapping[str, Any] | None = None,
        *,
        validators: Mapping[str, Validator | Iterable[Validator]] | None = None,
        max_versions: int = 50,
    ) -> None:
        integer("max_versions", max_versions, "versions kept for rollback", at_least=1)
        self._lock = threading.RLock()
        self._layers: dict[ConfigSource, dict[str, JSONValue]] = {s: {} for s in ConfigSource}
        self._values: dict[str, JSONValue] = {}
        self._validators: dict[str, list[Validator]] = {}
        self._callbacks: list[tuple[str | None, Callable[[ConfigChange], object]]] = []
        self._versions: deque[ConfigSnapshot] = deque(maxlen=max_versions)
        self._version = 0
        self._pending: deque[list[ConfigChange]] = deque()
        self._delivering = False
        for key, given in (validators or {}).items():
            for validator in [given] if callable(given) else list(given):
                self.add_validator(key, validator)
        self._commit(ConfigSource.DEFAULTS, _flatten(defaults or {}), "defaults")
        if self._version == 0:  # empty defaults: still start from a version one can roll back to
            self._version = 1
            self._versions.append(self._snapshot("defaults"))

    # -- reading ----------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """The current version; every accepted change adds one."""
        return self._version

    def get(self, key: str, default: JSONValue = None) -> JSONValue:
        """The effective value of ``key`` (a copy), or ``default``."""
        with self._lock:
            return copy.deepcopy(self._values.get(key, default))

    def __getitem__(self, key: str) -> JSONValue:
        with self._lock:
            if key not in self._values:
                raise KeyError(key)
            return copy.deepcopy(self._values[key])

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def section(self, prefix: str) -> dict[str, JSONValue]:
        """The keys under ``prefix.`` with the prefix removed: ``section("db")`` -> ``{"host": ...}``."""
        head = prefix.rstrip(".") + "."
        with self._lock:
            return {k[len(head) :]: copy.deepcopy(v) for k, v in self._values.items() if k.startswith(head)}

    def as_dict(self) -> dict[str, JSONValue]:
        """Every effective value, flat and sorted by key."""
        with self._lock:
            return copy.deepcopy(dict(sorted(self._values.items())))

    def source_of(self, key: str) -> ConfigSource | None:
        """The source whose value is in effect for ``key``."""
        with self._lock:
            for source in reversed(_ORDER):
                if key in self._layers[source]:
                    return source
        return None

    # -- validation and callbacks -----------------------------------------------------------------

    def add_validator(self, key: str, validator: Validator) -> None:
        """Validate every future value of ``key`` with ``validator`` (the current one is checked now)."""
        if not callable(validator):
            raise InvalidConfig(
                f"validator for {key!r} must be callable, got {validator!r}.", value=validator
            )
        with self._lock:
            if key in self._values:
                message = _run_validator(validator, key, self._values[key])
                if message is not None:
                    raise self._invalid(key, self._values[key], message)
            self._validators.setdefault(key, []).append(validator)

    def on_change(self, callback: Callable[[ConfigChange], object], *, key: str | None = None) -> None:
        """Call ``callback(change)`` for every changed key (or only for ``key`` / keys under ``key.``)."""
        self._callbacks.append((key, callback))

    def _invalid(self, key: str, value: Any, message: str) -> InvalidConfig:
        return InvalidConfig(
            f"config {key}={value!r} rejected: {message}; the previous value stays in effect.",
            field=key,
            value=value,
        )

    def _validate(self, values: Mapping[str, JSONValue], changed: Iterable[str]) -> None:
        for key in changed:
            if key not in values:
                continue
            for validator in self._validators.get(key, ()):
                message = _run_validator(validator, key, values[key])
                if message is not None:
                    raise self._invalid(key, values[key], message)

    # -- writing ----------------------------------------------------------------------------------

    def _merged(self, layers: Mapping[ConfigSource, Mapping[str, JSONValue]]) -> dict[str, JSONValue]:
        merged: dict[str, JSONValue] = {}
        for source in _ORDER:
            merged.update(layers[source])
        return merged

    def _commit(self, source: ConfigSource, layer: Mapping[str, JSONValue], reason: str) -> int:
        return self._apply(lambda _: {source: dict(layer)}, reason)

    def _apply(self, edit: _Edit, reason: str) -> int:
        """Under the lock: compute the new layers with ``edit``, validate, commit; then notify."""
        with self._lock:
            new_layers = edit(self._layers)
            for layer in new_layers.values():
                encode(layer)  # JSON only, with a clear message otherwise
            layers = {s: new_layers.get(s, self._layers[s]) for s in ConfigSource}
            if layers == self._layers:
                return self._version  # nothing changed: no new version
            values = self._merged(layers)
            old = self._values
            changed = sorted(k for k in values.keys() | old.keys() if values.get(k) != old.get(k))
            self._validate(values, changed)
            self._layers = {s: copy.deepcopy(dict(v)) for s, v in layers.items()}
            self._values = copy.deepcopy(values)
            self._version += 1
            version = self._version
            self._versions.append(self._snapshot(reason))
            self._pending.append(
                [ConfigChange(key=k, old=old.get(k), new=values.get(k), version=version) for k in changed]
            )
        self._deliver()
        return version

    def _snapshot(self, reason: str) -> ConfigSnapshot:
        return ConfigSnapshot(
            version=self._version,
            reason=reason,
            layers=MappingProxyType({s: _freeze(v) for s, v in self._layers.items()}),
            values=_freeze(self._values),
        )

    def _deliver(self) -> None:
        """Run callbacks for committed changes in version order, one batch at a time.

        Whoever finds no delivery under way delivers every pending batch, its own and those
        other writers commit meanwhile; a callback that writes to the store queues its change
        behind the current one instead of recursing.
        """
        with self._lock:
            if self._delivering:
                return
            self._delivering = True
        try:
            while True:
                with self._lock:
                    if not self._pending:
                        self._delivering = False
                        return
                    batch = self._pending.popleft()
                self._notify(batch)
        except BaseException:
            with self._lock:
                self._delivering = False
            raise

    def _notify(self, changes: list[ConfigChange]) -> None:
        for change in changes:
            for scope, callback in list(self._callbacks):
                if scope is None or change.key == scope or change.key.startswith(scope + "."):
                    try:
                        callback(change)
                    except Exception:  # noqa: BLE001 - the change is committed; a broken callback is logged
                        _log.exception("config callback %r failed for %s", callback, change.key)

    def set(self, key: str, value: JSONValue, *, source: ConfigSource | str = ConfigSource.OVERRIDE) -> int:
        """Set one key in ``source`` (default OVERRIDE); returns the new version."""
        source = ConfigSource.parse(source)
        _check_depth(value, key)
        entries = _flatten({key: value}) if isinstance(value, Mapping) and value else {key: value}
        return self._apply(lambda layers: {source: {**layers[source], **entries}}, f"set {key}")

    def unset(self, key: str, *, source: ConfigSource | str = ConfigSource.OVERRIDE) -> int:
        """Remove ``key`` from ``source`` so a lower source's value shows through."""
        source = ConfigSource.parse(source)
        return self._apply(
            lambda layers: {source: {k: v for k, v in layers[source].items() if k != key}}, f"unset {key}"
        )

    def update(self, values: Mapping[str, Any], *, source: ConfigSource | str = ConfigSource.OVERRIDE) -> int:
        """Merge several keys into ``source`` in one validated change."""
        source = ConfigSource.parse(source)
        entries = _flatten(values)
        return self._apply(
            lambda layers: {source: {**layers[source], **entries}}, f"update {len(values)} key(s)"
        )

    def load_mapping(self, data: Mapping[str, Any], *, source: ConfigSource | str, reason: str = "") -> int:
        """Replace ``source``'s layer with ``data`` (flattened)."""
        source = ConfigSource.parse(source)
        return self._commit(source, _flatten(data), reason or f"load {source.value}")

    def load_file(self, path: str | os.PathLike[str]) -> int:
        """Load a YAML (``.yaml``/``.yml``) or JSON file into the FILE layer, safely."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidConfig(
                f"cannot read config file {str(file)!r}: {exc.strerror}.", value=str(file)
            ) from None
        data = _parse_document(file, text)
        return self.load_mapping(data, source=ConfigSource.FILE, reason=f"file {file.name}")

    def load_env(self, prefix: str = "HARNESS_", environ: Mapping[str, str] | None = None) -> int:
        """Load ``PREFIX_A__B=value`` as ``a.b`` into the ENVIRONMENT layer (JSON values parsed)."""
        env = os.environ if environ is None else environ
        data = {
            name[len(prefix) :].lower().replace("__", "."): _parse_env_value(name, value)
            for name, value in env.items()
            if name.startswith(prefix) and len(name) > len(prefix)
        }
        return self._commit(ConfigSource.ENVIRONMENT, data, f"environment {prefix}*")

    async def load_storage(self, storage: Storage, key: str = "config") -> int:
        """Load the JSON object under ``key`` into the STORAGE layer (absent: an empty layer)."""
        data = await storage.get(key)
        if data is not None and not isinstance(data, Mapping):
            raise InvalidConfig(
                f"storage key {key!r} holds {type(data).__name__}, not a JSON object of settings.",
                field=key,
                value=data,
            )
        return self.load_mapping(data or {}, source=ConfigSource.STORAGE, reason=f"storage {key}")

    async def follow_storage(
        self, storage: Storage, key: str = "config", *, interval: float = 5.0, clock: Clock | None = None
    ) -> None:
        """Reload the STORAGE layer from ``key`` every ``interval`` seconds until cancelled.

        Several processes then share settings through one storage key. A reload that fails
        validation is logged and skipped (the previous values stay); an unchanged key makes no
        new version.
        """
        within("interval", interval, "(0, inf]", "e.g. 5.0", unit="seconds")
        sleeper: Clock = clock if clock is not None else SystemClock()
        while True:
            try:
                await self.load_storage(storage, key)
            except InvalidConfig as exc:
                _log.warning("config from storage key %r rejected: %s", key, exc)
            await sleeper.sleep(interval)

    async def save_storage(self, storage: Storage, key: str = "config") -> None:
        """Write the effective values to ``key`` so other processes can ``load_storage`` them."""
        await storage.set(key, self.as_dict())

    # -- versions ---------------------------------------------------------------------------------

    def snapshots(self) -> list[ConfigSnapshot]:
        """Kept versions, oldest first."""
        with self._lock:
            return list(self._versions)

    def rollback(self, version: int) -> int:
        """Restore the layers of ``version`` (validated like any change); returns the new version."""

        def restore(
            _: Mapping[ConfigSource, dict[str, JSONValue]],
        ) -> dict[ConfigSource, dict[str, JSONValue]]:
            snapshot = next((s for s in self._versions if s.version == version), None)
            if snapshot is None:
                kept = [s.version for s in self._versions]
                raise InvalidConfig(
                    f"version {version!r} is not kept; kept versions: {kept}.", field="version", value=version
                )
            return {s: {k: _thaw(v) for k, v in layer.items()} for s, layer in snapshot.layers.items()}

        return self._apply(restore, f"rollback to {version}")

    # -- export / import --------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Everything needed to rebuild this configuration: the layers and the version."""
        with self._lock:
            return {
                "format": EXPORT_FORMAT,
                "version": self._version,
                "layers": {
                    s.value: copy.deepcopy(dict(sorted(v.items()))) for s, v in self._layers.items() if v
                },
            }

    def export_file(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`export` atomically as JSON, or YAML when the name ends in .yaml/.yml."""
        file = Path(path)
        data = self.export()
        if file.suffix.lower() in {".yaml", ".yml"}:
            text = yaml.safe_dump(data, sort_keys=True)
        else:
            text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        return write_atomic(file, text)

    def import_data(self, data: Mapping[str, Any]) -> int:
        """Replace every layer with those of an :meth:`export` (validated as one change)."""
        given = data.get("format") if isinstance(data, Mapping) else type(data).__name__
        if (
            not isinstance(data, Mapping)
            or given != EXPORT_FORMAT
            or not isinstance(data.get("layers"), Mapping)
        ):
            raise InvalidConfig(
                f"not a config export (format {given!r}); expected format {EXPORT_FORMAT!r} "
                "with a 'layers' object.",
                field="format",
                value=given,
            )
        layers = {}
        for name, layer in data["layers"].items():
            source = ConfigSource.parse(name)
            if not isinstance(layer, Mapping):
                raise InvalidConfig(
                    f"config export layer {name!r} must be an object of settings, "
                    f"not {type(layer).__name__}.",
                    field=f"layers.{name}",
                )
            layers[source] = _flatten(layer)
        full = {s: layers.get(s, {}) for s in ConfigSource}
        return self._apply(lambda _: full, "import")

    def import_file(self, path: str | os.PathLike[str]) -> int:
        """Import a file written by :meth:`export_file`."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidConfig(
                f"cannot read config export {str(file)!r}: {exc.strerror}.", value=str(file)
            ) from None
        return self.import_data(_parse_document(file, text))

    def __repr__(self) -> str:
        return f"ConfigStore(keys={len(self._values)}, version={self._version})"


def _parse_document(file: Path, text: str) -> Mapping[str, Any]:
    try:
        yaml_file = file.suffix.lower() in {".yaml", ".yml"}
        data = yaml.safe_load(text) if yaml_file else json.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise InvalidConfig(f"config file {str(file)!r} does not parse: {exc}", value=str(file)) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise InvalidConfig(
            f"config file {str(file)!r} holds a {type(data).__name__}; it must hold a mapping of settings.",
            value=str(file),
        )
    return data
