"""ConfigStore: precedence, validation, callbacks, versions, rollback, export and import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.health import ConfigChange, ConfigSource, ConfigStore
from harness.health.config import MAX_DEPTH
from harness.storage import MemoryStorage


def positive(value: Any) -> str | None:
    if not isinstance(value, int) or value <= 0:
        return f"must be a positive integer, got {value!r}"
    return None


def test_sources_apply_in_precedence_order(tmp_path: Path, virtual_clock: VirtualClock) -> None:
    """Defaults < file < environment < storage < override, key by key."""
    store = ConfigStore({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1})
    file = tmp_path / "c.yaml"
    file.write_text("b: 2\nc: 2\nd: 2\ne: 2\n")
    store.load_file(file)
    store.load_env("APP_", {"APP_C": "3", "APP_D": "3", "APP_E": "3", "OTHER": "x"})
    storage = MemoryStorage(clock=virtual_clock)
    virtual_clock.run(storage.set("config", {"d": 4, "e": 4}))
    virtual_clock.run(store.load_storage(storage))
    store.set("e", 5)
    assert store.as_dict() == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    assert [store.source_of(k) for k in "abcde"] == list(ConfigSource)
    store.unset("e")
    assert store["e"] == 4


def test_nested_values_are_flattened_to_dotted_keys(tmp_path: Path) -> None:
    """Nested mappings from files and environment become dotted keys; section() reads them back."""
    store = ConfigStore({"db": {"host": "localhost", "pool": {"size": 5}}})
    store.load_env("APP_", {"APP_DB__POOL__SIZE": "20", "APP_DB__TLS": "true", "APP_NAME": "svc-1"})
    assert store.get("db.pool.size") == 20
    assert store.get("db.tls") is True
    assert store.get("name") == "svc-1"
    assert store.section("db") == {"host": "localhost", "pool.size": 20, "tls": True}


def test_invalid_value_is_rejected_and_previous_value_kept() -> None:
    """A validator's message is in the error; the store keeps the old value and version."""
    store = ConfigStore({"workers": 4}, validators={"workers": positive})
    version = store.version
    with pytest.raises(
        InvalidConfig, match=r"workers=-2 rejected: must be a positive integer, got -2"
    ) as info:
        store.set("workers", -2)
    assert info.value.field == "workers"
    assert store["workers"] == 4
    assert store.version == version


def test_a_rejected_load_changes_nothing(tmp_path: Path) -> None:
    """One bad key in a file rejects the whole file."""
    store = ConfigStore({"workers": 4, "name": "a"}, validators={"workers": positive})
    file = tmp_path / "c.json"
    file.write_text(json.dumps({"workers": 0, "name": "b"}))
    with pytest.raises(InvalidConfig, match="workers=0 rejected"):
        store.load_file(file)
    assert store.as_dict() == {"name": "a", "workers": 4}


@pytest.mark.parametrize(
    "validator",
    [
        lambda v: v in {"a", "b"},
        lambda v: None if v in {"a", "b"} else "must be a or b",
    ],
)
def test_validators_may_return_bool_or_message(validator: Any) -> None:
    """False or a message rejects; True or None accepts."""
    store = ConfigStore({"mode": "a"}, validators={"mode": validator})
    store.set("mode", "b")
    with pytest.raises(InvalidConfig, match="mode='c' rejected"):
        store.set("mode", "c")
    assert store["mode"] == "b"


def test_validator_raising_value_error_rejects() -> None:
    """A validator that raises ValueError rejects with its message."""

    def port(value: Any) -> None:
        if not 0 < int(value) < 65536:
            raise ValueError("port out of range 1..65535")

    store = ConfigStore({"port": 80})
    store.add_validator("port", port)
    with pytest.raises(InvalidConfig, match="port out of range"):
        store.set("port", 70000)


def test_adding_a_validator_checks_the_current_value() -> None:
    """A validator that rejects the value already in effect fails when added."""
    store = ConfigStore({"workers": 0})
    with pytest.raises(InvalidConfig, match="workers=0 rejected"):
        store.add_validator("workers", positive)


def test_change_callbacks_get_old_and_new() -> None:
    """Callbacks see each changed key once per change; scoped callbacks only their keys."""
    store = ConfigStore({"db": {"host": "a"}, "x": 1})
    everything: list[ConfigChange] = []
    db_only: list[str] = []
    store.on_change(everything.append)
    store.on_change(lambda c: db_only.append(c.key), key="db")
    store.set("db.host", "b")
    store.set("x", 1)  # unchanged: no callback
    store.update({"x": 2, "db": {"port": 5432}})
    assert [(c.key, c.old, c.new) for c in everything] == [
        ("db.host", "a", "b"),
        ("db.port", None, 5432),
        ("x", 1, 2),
    ]
    assert db_only == ["db.host", "db.port"]


def test_versions_and_rollback() -> None:
    """Every change is a version; rollback restores a version's values as a new version."""
    store = ConfigStore({"a": 1})
    first = store.version
    store.set("a", 2)
    store.set("b", "x")
    seen: list[tuple[str, Any, Any]] = []
    store.on_change(lambda c: seen.append((c.key, c.old, c.new)))
    new_version = store.rollback(first)
    assert store.as_dict() == {"a": 1}
    assert new_version == first + 3
    assert sorted(seen) == [("a", 2, 1), ("b", "x", None)]
    assert [s.reason for s in store.snapshots()][-1] == f"rollback to {first}"
    with pytest.raises(InvalidConfig, match="version 999 is not kept"):
        store.rollback(999)


def test_rollback_is_validated_too() -> None:
    """Rolling back to values a validator added later rejects is refused."""
    store = ConfigStore({"workers": 0})
    old = store.version
    store.set("workers", 3)
    store.add_validator("workers", positive)
    with pytest.raises(InvalidConfig, match="workers=0 rejected"):
        store.rollback(old)
    assert store["workers"] == 3


def test_only_max_versions_are_kept() -> None:
    """The version history is bounded."""
    store = ConfigStore({"a": 0}, max_versions=3)
    for i in range(1, 6):
        store.set("a", i)
    assert [s.version for s in store.snapshots()] == [4, 5, 6]


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_export_and_import_round_trip(tmp_path: Path, suffix: str) -> None:
    """An export file rebuilds the same layers and values in another store."""
    store = ConfigStore({"a": 1, "db": {"host": "h"}})
    store.load_env("APP_", {"APP_A": "2"})
    store.set("b", [1, 2])
    path = store.export_file(tmp_path / f"export{suffix}")
    other = ConfigStore({"zzz": True})
    other.import_file(path)
    assert other.as_dict() == store.as_dict()
    assert other.source_of("a") is ConfigSource.ENVIRONMENT
    assert "zzz" not in other


def test_import_rejects_foreign_documents() -> None:
    """A document that is not an export says what it expected."""
    with pytest.raises(InvalidConfig, match="not a config export"):
        ConfigStore().import_data({"a": 1})


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    """Python-object tags in YAML are refused, not constructed."""
    file = tmp_path / "evil.yaml"
    file.write_text("a: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(InvalidConfig, match="does not parse"):
        ConfigStore().load_file(file)


def test_file_errors_are_usage_errors(tmp_path: Path) -> None:
    """Missing files and non-mapping documents are reported with the path."""
    with pytest.raises(InvalidConfig, match="cannot read config file"):
        ConfigStore().load_file(tmp_path / "missing.yaml")
    file = tmp_path / "list.yaml"
    file.write_text(yaml.safe_dump([1, 2]))
    with pytest.raises(InvalidConfig, match="holds a list"):
        ConfigStore().load_file(file)


def test_storage_round_trip_between_stores(virtual_clock: VirtualClock) -> None:
    """save_storage in one store and load_storage in another share the values."""
    storage = MemoryStorage(clock=virtual_clock)
    first = ConfigStore({"a": 1})
    first.set("b", 2)
    second = ConfigStore({"a": 0, "c": 3})

    async def scenario() -> None:
        await first.save_storage(storage, "cfg")
        await second.load_storage(storage, "cfg")

    virtual_clock.run(scenario())
    assert second.as_dict() == {"a": 1, "b": 2, "c": 3}
    virtual_clock.run(storage.set("bad", [1]))
    with pytest.raises(InvalidConfig, match="not a JSON object"):
        virtual_clock.run(second.load_storage(storage, "bad"))


def test_values_must_be_json() -> None:
    """Non-JSON values are refused before they take effect."""
    store = ConfigStore({"a": 1})
    with pytest.raises(InvalidConfig, match="must be JSON"):
        store.set("a", object())
    assert store["a"] == 1


def test_get_returns_copies() -> None:
    """Mutating a returned value does not change the store."""
    store = ConfigStore({"hosts": ["a"]})
    store.get("hosts").append("b")
    assert store["hosts"] == ["a"]


def test_concurrent_writers_lose_no_update() -> None:
    """Threads setting different keys at once: every key lands, every change is one version."""
    import threading

    store = ConfigStore()
    seen: list[int] = []
    store.on_change(lambda c: seen.append(c.version))

    def writer(n: int) -> None:
        for i in range(50):
            store.set(f"w{n}.k{i}", i)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(store.as_dict()) == 400
    assert store.version == 401
    assert sorted(seen) == list(range(2, 402))


def test_callbacks_may_change_the_store() -> None:
    """A change callback can write to the store (it runs after the change is committed)."""
    store = ConfigStore({"a": 1, "b": 0})
    store.on_change(lambda c: store.set("b", c.new * 10), key="a")
    store.set("a", 2)
    assert store.as_dict() == {"a": 2, "b": 20}


def test_follow_storage_picks_up_changes_and_skips_bad_ones(
    virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process's writes arrive within one interval; a rejected write keeps the old values."""
    import asyncio

    storage = MemoryStorage(clock=virtual_clock)
    store = ConfigStore({"workers": 1}, validators={"workers": positive})
    seen: list[tuple[float, Any]] = []
    store.on_change(lambda c: seen.append((virtual_clock.now(), c.new)), key="workers")

    async def scenario() -> None:
        task = asyncio.create_task(store.follow_storage(storage, "cfg", interval=10.0, clock=virtual_clock))
        await asyncio.sleep(5.0)
        await storage.set("cfg", {"workers": 8})
        await asyncio.sleep(20.0)
        await storage.set("cfg", {"workers": -1})
        await asyncio.sleep(20.0)
        task.cancel()

    versions_before = store.version
    virtual_clock.run(scenario())
    assert seen == [(10.0, 8)]
    assert store["workers"] == 8
    assert store.version == versions_before + 1
    assert "workers=-1 rejected" in caplog.text


def test_unchanged_writes_make_no_version() -> None:
    """Setting a value to what it already is creates no version and calls no callback."""
    store = ConfigStore({"a": 1})
    store.set("a", 2)
    version = store.version
    assert store.set("a", 2) == version
    assert len(store.snapshots()) == 2


def test_snapshot_history_cannot_be_changed_from_outside() -> None:
    """Appending to a list in a snapshot fails, and a later rollback restores the original list."""
    store = ConfigStore({"hosts": ["a"], "db": {"pool": {"size": 1}}})
    first = store.version
    store.set("hosts", ["a", "b"])
    snapshot = store.snapshots()[0]
    with pytest.raises(AttributeError):
        snapshot.values["hosts"].append("evil")  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        snapshot.values["db.pool.size"] = 99  # type: ignore[index]
    with pytest.raises(TypeError):
        snapshot.layers[ConfigSource.DEFAULTS]["hosts"] = ["evil"]  # type: ignore[index]
    store.rollback(first)
    assert store["hosts"] == ["a"]
    assert isinstance(store["hosts"], list)
    store.get("hosts").append("x")
    assert store.snapshots()[-1].values["hosts"] == ("a",)


@pytest.mark.parametrize(
    "data",
    [
        [],
        "chaos-harness-config/1",
        {"format": "chaos-harness-config/1", "layers": {"override": ["a", "b"]}},
        {"format": "chaos-harness-config/1", "layers": {"override": "a=b"}},
        {"format": "chaos-harness-config/1", "layers": {"override": {"a": {"b": 3}, 7: 1}}},
        {"format": "chaos-harness-config/1", "layers": {"nowhere": {"a": 1}}},
    ],
    ids=["list", "string", "layer-list", "layer-string", "key-int", "unknown-layer"],
)
def test_import_of_a_wrong_shape_is_invalid_config(data: Any) -> None:
    """Every malformed export is InvalidConfig, never AttributeError or TypeError; nothing changes."""
    store = ConfigStore({"a": 1})
    version = store.version
    with pytest.raises(InvalidConfig):
        store.import_data(data)
    assert store.version == version


@pytest.mark.parametrize("bad", [2.5, 0, -1, True, "3", None])
def test_max_versions_must_be_a_positive_integer(bad: Any) -> None:
    """max_versions=2.5 (and friends) is InvalidConfig naming the field."""
    with pytest.raises(InvalidConfig, match="max_versions"):
        ConfigStore(max_versions=bad)


def test_deeply_nested_values_are_invalid_config() -> None:
    """Nesting beyond MAX_DEPTH from the environment, a file or set() is InvalidConfig, not RecursionError."""
    store = ConfigStore({"a": 1})
    deep_json = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidConfig, match="APP_DEEP"):
        store.load_env("APP_", {"APP_DEEP": deep_json})
    with pytest.raises(InvalidConfig, match="nested more than"):
        store.load_env("APP_", {"APP_DEEP": "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)})
    nested: Any = 1
    for _ in range(5000):
        nested = {"x": nested}
    with pytest.raises(InvalidConfig, match="nested more than"):
        store.load_mapping(nested, source=ConfigSource.FILE)
    listed: Any = 1
    for _ in range(5000):
        listed = [listed]
    with pytest.raises(InvalidConfig, match="nested more than"):
        store.set("deep", listed)
    assert store.as_dict() == {"a": 1}
    store.load_env("APP_", {"APP_OK": "[" * MAX_DEPTH + "]" * MAX_DEPTH})


def test_callbacks_arrive_in_version_order_with_concurrent_writers() -> None:
    """Eight threads write at once; every callback sees versions strictly increasing."""
    import sys
    import threading

    store = ConfigStore()
    seen: list[int] = []
    store.on_change(lambda c: seen.append(c.version))
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait(timeout=30)
        for i in range(50):
            store.set(f"w{n}.k{i}", i)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads as often as possible: the race shows at once
    try:
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert seen == list(range(2, 402))


def test_callbacks_arrive_in_version_order_with_concurrent_tasks() -> None:
    """Tasks interleaving writes with awaits see their callbacks in version order too."""
    import asyncio

    store = ConfigStore()
    seen: list[int] = []
    store.on_change(lambda c: seen.append(c.version))

    async def writer(n: int) -> None:
        for i in range(50):
            store.set(f"t{n}.k{i}", i)
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(writer(n) for n in range(4)))

    asyncio.run(main())
    assert seen == list(range(2, 202))


def test_a_callback_writing_to_the_store_is_delivered_after_the_current_change() -> None:
    """A write from inside a callback is delivered after the change that caused it, in order."""
    store = ConfigStore({"a": 1, "b": 0})
    order: list[tuple[str, int]] = []
    store.on_change(lambda c: order.append((c.key, c.version)))
    store.on_change(lambda c: store.set("b", c.new * 10), key="a")
    store.set("a", 2)
    assert order == [("a", 2), ("b", 3)]
    assert store.as_dict() == {"a": 2, "b": 20}
