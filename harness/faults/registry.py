"""``ProxyRegistry``: the named fault proxies behind the HTTP API, with Toxiproxy's semantics.

Every operation validates its input and raises :class:`~harness.faults.toxics.ToxicError`
carrying the HTTP status the API answers (400 bad input, 404 unknown, 409 taken, 500 listen
failure), with Toxiproxy's messages where Toxiproxy has one.

Changes are consistent under concurrency: operations that change proxies (create, populate,
update, delete, reset) run one at a time, and a deleted proxy leaves the registry before it is
stopped, so concurrent deletes answer 204 once and 404 after. An update validates everything
before it changes anything and, if the new listen address cannot be bound, listens on the old one
again. Addresses are checked where Toxiproxy would fail later: a host that does not resolve is a
400 naming it, and an upstream that is the proxy's own listen address (a proxy dialling itself
until the process runs out of descriptors) is a 400.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.clock import Clock
from harness.faults.proxy import FaultProxy, parse_address
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


async def _resolve(host: str, port: int, what: str) -> set[str]:
    """The IP addresses ``host`` names; a 400 naming the host when it does not resolve."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else str(exc)
        raise ToxicError(
            f"{what} host {host!r} cannot be resolved: {reason}", field=what, value=host
        ) from None
    return {str(info[4][0]) for info in infos}


async def _check_listen(listen: str) -> None:
    """A listen address that parses (500, as Toxiproxy) and whose host resolves (400)."""
    host, port = parse_address(listen)
    await _resolve(host, port, "listen")


async def _check_upstream(upstream: str, listen: str | None) -> None:
    """An upstream that parses and resolves, and is not the proxy's own ``listen`` address (400)."""
    try:
        host, port = parse_address(upstream, what="dial")
    except ToxicError as exc:
        raise ToxicError(
            f"upstream {upstream!r} must be host:port ({exc.message})", field="upstream"
        ) from None
    addresses = await _resolve(host, port, "upstream")
    if listen and _dials_itself(addresses, port, listen):
        raise ToxicError(
            f"upstream {upstream} is this proxy's own listen address {listen}: every connection "
            "would dial the proxy again; point the upstream at the service.",
            field="upstream",
            value=upstream,
        )


def _dials_itself(addresses: set[str], port: int, listen: str) -> bool:
    listen_host, listen_port = parse_address(listen)
    if port != listen_port or listen_port == 0:
        return False
    if listen_host in addresses:
        return True
    wildcard = ipaddress.ip_address(listen_host).is_unspecified if _is_ip(listen_host) else False
    return wildcard and any(ipaddress.ip_address(a).is_loopback for a in addresses if _is_ip(a))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


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
        self._changing: asyncio.Lock | None = None

    def _lock(self) -> asyncio.Lock:
        """The lock that runs changes one at a time (made on the loop that first needs it)."""
        if self._changing is None:
            self._changing = asyncio.Lock()
        return self._changing

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
        async with self._lock():
            if body["name"] in self._proxies:
                raise ToxicError("proxy already exists", status=409, value=body["name"])
            return await self._build(body, toxics)

    async def _build(self, body: Mapping[str, Any], toxics: list[Toxic]) -> FaultProxy:
        listen = body.get("listen") or ""
        proxy = FaultProxy(
            body["name"], body["upstream"], listen=listen or "127.0.0.1:0", seed=self.seed, clock=self.clock
        )
        await _check_listen(proxy.listen)
        await _check_upstream(proxy.upstream, listen)
        if body.get("enabled", True) is False:
            proxy.listen = listen
        else:
            await proxy.start()
            try:
                await _check_upstream(proxy.upstream, proxy.listen)  # the port the listener got
            except ToxicError:
                await proxy.stop()
                raise
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
        async with self._lock():
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
            await self._remove(existing.name)
        return await self._build(item, toxics)

    async def update(self, name: str, body: Mapping[str, Any]) -> FaultProxy:
        """Apply a partial update (listen, upstream, enabled); all or nothing.

        Everything is validated before anything changes; if the new listen address cannot be
        bound, the proxy listens on its old address again and the error is raised.
        """
        _check_fields(body)
        async with self._lock():
            proxy = self.get(name)
            listen, upstream, enabled = body.get("listen"), body.get("upstream"), body.get("enabled")
            new_listen = listen if listen and listen != proxy.listen else None
            new_upstream = upstream if upstream and upstream != proxy.upstream else None
            if new_listen is not None:
                await _check_listen(new_listen)
            if new_listen is not None or new_upstream is not None:
                await _check_upstream(new_upstream or proxy.upstream, new_listen or proxy.listen)
            if new_listen is not None:
                await self._move(proxy, new_listen)
            if new_upstream is not None:
                await proxy.set_upstream(new_upstream)
            if enabled is True and not proxy.enabled:
                await proxy.enable()
            elif enabled is False and proxy.enabled:
                await proxy.disable()
            return proxy

    async def _move(self, proxy: FaultProxy, listen: str) -> None:
        """Listen on ``listen`` instead; on failure listen where it did before, and raise."""
        old, was_enabled = proxy.listen, proxy.enabled
        await proxy.stop()
        proxy.listen = listen
        if not was_enabled:
            return
        try:
            await proxy.start()
        except ToxicError:
            proxy.listen = old
            await proxy.start()
            raise

    async def delete(self, name: str) -> None:
        """Stop and forget the proxy called ``name`` (404 if there is none, or no longer)."""
        async with self._lock():
            await self._remove(name)

    async def _remove(self, name: str) -> None:
        proxy = self.get(name)
        del self._proxies[name]  # gone for every request from now on, before the awaits below
        await proxy.stop()

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic (no proxy is deleted)."""
        async with self._lock():
            for proxy in self.all():
                proxy.clear_toxics()
                if not proxy.enabled:
                    await proxy.enable()

    async def close(self) -> None:
        """Stop every proxy and forget them all."""
        async with self._lock():
            for name in list(self._proxies):
                await self._remove(name)

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
