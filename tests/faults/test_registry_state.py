"""The proxy registry as a state machine: names, toxic order and enabled state match a simple model."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from harness.faults import ProxyRegistry, ToxicError

NAMES = st.sampled_from(["a", "b", "c"])
TOXIC_NAMES = st.sampled_from([None, "t1", "t2"])
TYPES = st.sampled_from(["latency", "noop", "slicer", "limit_data"])
STREAMS = st.sampled_from(["upstream", "downstream", "UpStream"])


class RegistryMachine(RuleBasedStateMachine):
    """Rules are API calls; the model is a dict of proxy -> (enabled, [(toxic, stream)])."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.registry = ProxyRegistry(seed=1)
        self.model: dict[str, dict[str, Any]] = {}

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def expect(self, status: int | None, call: Any) -> Any:
        if status is None:
            return call()
        with pytest.raises(ToxicError) as info:
            call()
        assert info.value.status == status
        return None

    @rule(name=NAMES, enabled=st.booleans())
    def create(self, name: str, enabled: bool) -> None:
        body = {"name": name, "upstream": "127.0.0.1:9", "listen": "127.0.0.1:0", "enabled": enabled}
        status = 409 if name in self.model else None
        self.expect(status, lambda: self.run(self.registry.create(body)))
        if status is None:
            self.model[name] = {"enabled": enabled, "toxics": []}

    @rule(name=NAMES)
    def delete(self, name: str) -> None:
        status = None if name in self.model else 404
        self.expect(status, lambda: self.run(self.registry.delete(name)))
        self.model.pop(name, None)

    @rule(name=NAMES, kind=TYPES, stream=STREAMS, toxic=TOXIC_NAMES)
    def add_toxic(self, name: str, kind: str, stream: str, toxic: str | None) -> None:
        body: dict[str, Any] = {"type": kind, "stream": stream}
        if toxic is not None:
            body["name"] = toxic
        final = toxic or f"{kind}_{stream}"
        if name not in self.model:
            status: int | None = 404
        elif final in [t for t, _ in self.model[name]["toxics"]]:
            status = 409
        else:
            status = None
        self.expect(status, lambda: self.registry.add_toxic(name, body))
        if status is None:
            self.model[name]["toxics"].append((final, stream.lower()))

    @rule(name=NAMES, toxic=st.sampled_from(["t1", "t2", "noop_upstream", "latency_downstream"]))
    def remove_toxic(self, name: str, toxic: str) -> None:
        present = name in self.model and toxic in [t for t, _ in self.model[name]["toxics"]]
        self.expect(None if present else 404, lambda: self.registry.remove_toxic(name, toxic))
        if present:
            self.model[name]["toxics"] = [(t, s) for t, s in self.model[name]["toxics"] if t != toxic]

    @rule(name=NAMES, enabled=st.booleans())
    def set_enabled(self, name: str, enabled: bool) -> None:
        status = None if name in self.model else 404
        self.expect(status, lambda: self.run(self.registry.update(name, {"enabled": enabled})))
        if status is None:
            self.model[name]["enabled"] = enabled

    @rule()
    def reset(self) -> None:
        self.run(self.registry.reset())
        for entry in self.model.values():
            entry["enabled"] = True
            entry["toxics"] = []

    @invariant()
    def matches_model(self) -> None:
        assert self.registry.names() == sorted(self.model)
        for name, entry in self.model.items():
            proxy = self.registry.get(name)
            assert proxy.enabled == entry["enabled"]
            expected = [t for t, s in entry["toxics"] if s == "upstream"]
            expected += [t for t, s in entry["toxics"] if s == "downstream"]
            assert [t.name for t in proxy.toxics()] == expected
            if proxy.enabled:
                assert not proxy.listen.endswith(":0")

    def teardown(self) -> None:
        self.run(self.registry.close())
        self.loop.close()


TestRegistry = RegistryMachine.TestCase
TestRegistry.settings = settings(max_examples=15, stateful_step_count=15, deadline=None)
