"""``ProxyRegistry``: the named fault proxies behind the HTTP API, with Toxiproxy's semantics.

Every operation validates its input and raises :class:`~harness.faults.toxics.ToxicError`
carrying the HTTP status the API answers (400 bad input, 404 unknown, 409 taken, 500 listen
failure), with Toxiproxy's messages where Toxiproxy has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.clock import Clock
from harness.faults.proxy import FaultProxy
from harness.faults.toxics import Toxic, ToxicError, check_name, parse_toxic, update_toxic

__all__ = ["PopulateResult", "ProxyRegistry", "require_object"]

_MAX_ADDRESS = 1000
_PROXY_FIELDS = {"name": str, "listen": str, "upstream": str, "enabled": bool}
_GO_TYPES = {str: "string", bool: "bool"}


def _check_fields(body: Mapping[str, Any]) -> None:
    for key, kind in _PROXY_FIELDS.items():
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, kind):
            got = "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            got = got or {str: "string", bool: "bool", list: "array", dict: "object"}.get(
                type(value), "value"
            )
            raise ToxicError(
                f"bad request body: json: cannot unmarshal {got} into Go struct field Proxy.{key} "
                f"of type {_GO_TYPES[kind]}",
                field=key,
                value=value,
            )
        if isinstance(value, str) and len(value) > _MAX_ADDRESS:
            raise ToxicError(f"{key} is {len(value)} characters long; use at most {_MAX_ADDRESS}.", field=key)


def _check_new(body: Mapping[str, Any]) -> list[Toxic]:
    _check_fields(body)
    if not body.get("name"):
        raise ToxicError("missing required field: name", field="name")
    check_name(body["name"], "Proxy")
    if not body.get("upstream"):
        raise ToxicError("missing required field: upstream", field="upstream")
    raw = body.get("toxics")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ToxicError("toxics must be a list of toxic objects", field="toxics")
    toxics: list[Toxic] = []
    for item in raw:
        if not isinstance(item, dict):
            raise ToxicError("each entry of toxics must be an object", field="toxics")
        taken = {t.name for t in toxics}
        toxics.append(parse_toxic(item, exists=taken.__contains__))
    return toxics


@dataclass(slots=True)
class PopulateResult:
    """What ``/populate`` did: the proxies created or kept, and the error that stopped it."""

    proxies: list[FaultProxy] = field(default_factory=list)
    error: ToxicError | None = None


class ProxyRegistry:
    """Named :class:`FaultProxy` objects sharing a seed and a clock; asyncio, one event loop."""

    def __init__(self, *, seed: int = 0, clock: Clock | None = None) -> None:
        self.seed = seed
        self.clock = clock
        self._proxies: dict[str, FaultProxy] = {}

    def names(self) -> list[str]:
        """Proxy names, sorted (Go's JSON encoder sorts map keys)."""
        return sorted(self._proxies)

    def get(self, name: str) -> FaultProxy:
        """The proxy called ``name``; 404 if absent."""
        proxy = self._proxies.get(name)
        if proxy is None:
            raise ToxicError("proxy not found", status=404, value=name)
        return proxy

    def all(self) -> list[FaultProxy]:
        """Every proxy, by name."""
        return [self._proxies[n] for n in self.names()]

    async def create(self, body: Mapping[str, Any]) -> FaultProxy:
        """Create (and unless ``enabled`` is false, start) a proxy from an API body."""
        toxics = _check_new(body)
        if body["name"] in self._proxies:
            raise ToxicError("proxy already exists", status=409, value=body["name"])
        return await self._build(body, toxics)

    async def _build(self, body: Mapping[str, Any], toxics: list[Toxic]) -> FaultProxy:
        listen = body.get("listen") or ""
        proxy = FaultProxy(
            body["name"], body["upstream"], listen=listen or "127.0.0.1:0", seed=self.seed, clock=self.clock
        )
        if body.get("enabled", True) is False:
            proxy.listen = listen
        else:
            await proxy.start()
        for toxic in toxics:
            proxy.add_toxic(toxic)
        self._proxies[proxy.name] = proxy
        return proxy

    async def populate(self, items: object) -> PopulateResult:
        """Create or replace many proxies; validation failures create nothing."""
        if not isinstance(items, list):
            raise ToxicError(
                "bad request body: json: cannot unmarshal object into Go value of type []toxiproxy.Proxy"
            )
        planned: list[tuple[Mapping[str, Any], list[Toxic]]] = []
        for index, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise ToxicError(f"bad request body: proxy {index} is not an object")
            try:
                planned.append((item, _check_new(item)))
            except ToxicError as exc:
                raise ToxicError(f"{exc.message} at proxy {index}", status=exc.status) from None
        result = PopulateResult()
        for item, toxics in planned:
            try:
                result.proxies.append(await self._populate_one(item, toxics))
            except ToxicError as exc:
                result.error = exc
                break
        return result

    async def _populate_one(self, item: Mapping[str, Any], toxics: list[Toxic]) -> FaultProxy:
        existing = self._proxies.get(item["name"])
        if existing is not None:
            same = existing.listen == (item.get("listen") or "") and existing.upstream == item["upstream"]
            if same and not toxics:
                return existing
            await self.delete(existing.name)
        return await self._build(item, toxics)

    async def update(self, name: str, body: Mapping[str, Any]) -> FaultProxy:
        """Apply a partial update (listen, upstream, enabled)."""
        proxy = self.get(name)
        _check_fields(body)
        listen, upstream, enabled = body.get("listen"), body.get("upstream"), body.get("enabled")
        if listen and listen != proxy.listen:
            was_enabled = proxy.enabled
            await proxy.stop()
            proxy.listen = listen
            if was_enabled:
                await proxy.start()
        if upstream and upstream != proxy.upstream:
            await proxy.set_upstream(upstream)
        if enabled is True and not proxy.enabled:
            await proxy.enable()
        elif enabled is False and proxy.enabled:
            await proxy.disable()
        return proxy

    async def delete(self, name: str) -> None:
        """Stop and forget the proxy called ``name``."""
        proxy = self.get(name)
        await proxy.stop()
        del self._proxies[name]

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic (no proxy is deleted)."""
        for proxy in self.all():
            proxy.clear_toxics()
            if not proxy.enabled:
                await proxy.enable()

    async def close(self) -> None:
        """Stop every proxy and forget them all."""
        for name in list(self._proxies):
            await self.delete(name)

    # --- toxics ---------------------------------------------------------------------------------
    def add_toxic(self, proxy_name: str, body: object) -> Toxic:
        """Add a toxic from an API body (404 proxy, 400 body, 409 name taken)."""
        proxy = self.get(proxy_name)
        mapping = require_object(body, "toxiproxy.Toxic")
        return proxy.add_toxic(parse_toxic(mapping, exists=lambda n: proxy.get_toxic(n) is not None))

    def get_toxic(self, proxy_name: str, toxic_name: str) -> Toxic:
        """The toxic ``toxic_name`` of ``proxy_name``; 404 for either missing."""
        toxic = self.get(proxy_name).get_toxic(toxic_name)
        if toxic is None:
            raise ToxicError("toxic not found", status=404, value=toxic_name)
        return toxic

    def update_toxic(self, proxy_name: str, toxic_name: str, body: object) -> Toxic:
        """Merge attributes and replace toxicity; name, type and stream never change."""
        toxic = self.get_toxic(proxy_name, toxic_name)
        updated = update_toxic(toxic, require_object(body, "toxiproxy.Toxic"))
        return self.get(proxy_name).replace_toxic(updated)

    def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        """Remove a toxic; 404 for either missing."""
        self.get(proxy_name).remove_toxic(toxic_name)


def require_object(body: object, go_type: str) -> Mapping[str, Any]:
    """``body`` if it is a JSON object, else the 400 Go's decoder would give for its type."""
    if not isinstance(body, dict):
        names = {list: "array", str: "string", bool: "bool", type(None): "null"}
        kind = names.get(type(body), "number")
        raise ToxicError(f"bad request body: json: cannot unmarshal {kind} into Go value of type {go_type}")
    return body
