"""One Python interface over any Toxiproxy-speaking server: ours (``serve_api``) or a real one.

``Toxiproxy(url)`` is a small synchronous client with bounded timeouts; ``create()`` returns a
:class:`ProxyHandle` with ``.listen``, ``.add(toxic)``, ``.remove(name)``, ``.down()``, ``.up()``.
Tests written against it run unchanged on the in-process engine or on a Toxiproxy server chosen
with ``HARNESS_TOXIPROXY_URL``; :func:`backend_from_env` picks one.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from harness._checks import positive
from harness.errors import InvalidConfig, UsageError
from harness.faults.toxics import Toxic, ToxicError, ToxicType

__all__ = ["TOXIPROXY_URL_ENV", "ProxyHandle", "Toxiproxy", "ToxiproxyError", "backend_from_env"]

TOXIPROXY_URL_ENV = "HARNESS_TOXIPROXY_URL"
"""Environment variable naming a real Toxiproxy server, e.g. ``http://127.0.0.1:8474``."""


class ToxiproxyError(UsageError):
    """The proxy API refused a request; ``status`` and the server's message are kept."""

    def __init__(self, message: str, *, status: int, path: str) -> None:
        super().__init__(f"{message} (HTTP {status} on {path})")
        self.status = status
        self.path = path
        self.reason = message


class Toxiproxy:
    """A client for the Toxiproxy HTTP API (ours or the real server), with bounded timeouts."""

    def __init__(self, url: str = "http://127.0.0.1:8474", *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidConfig(
                f"Toxiproxy URL {url!r} must look like http://127.0.0.1:8474.", field="url", value=url
            )
        if not timeout > 0:
            positive("timeout", timeout, "seconds each request to the Toxiproxy API may take, e.g. 10.0")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; the decoded JSON answer, ``None`` for 204; ``ToxiproxyError`` on 4xx/5xx."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310 - http(s) only
        req.add_header("User-Agent", "chaos-harness")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise _api_error(exc, path) from None
        except (urllib.error.URLError, OSError) as exc:
            raise UsageError(f"cannot reach the proxy API at {self.url}: {exc}") from None
        return json.loads(raw) if raw.strip() else None

    def version(self) -> dict[str, Any]:
        """``GET /version`` as a dict."""
        answer = self.request("GET", "/version")
        return answer if isinstance(answer, dict) else {"version": str(answer)}

    def create(
        self,
        name: str,
        upstream: str,
        *,
        listen: str = "127.0.0.1:0",
        enabled: bool = True,
    ) -> ProxyHandle:
        """Create a proxy and return its handle (409 ``ToxiproxyError`` if the name is taken)."""
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return ProxyHandle(self, self.request("POST", "/proxies", body))

    def get(self, name: str) -> ProxyHandle:
        """The handle of an existing proxy (404 ``ToxiproxyError`` if absent)."""
        return ProxyHandle(self, self.request("GET", f"/proxies/{_q(name)}"))

    def proxies(self) -> dict[str, ProxyHandle]:
        """Every proxy by name."""
        answer = self.request("GET", "/proxies") or {}
        return {name: ProxyHandle(self, raw) for name, raw in answer.items()}

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self.request("POST", "/reset")

    def delete_all(self) -> None:
        """Delete every proxy (teardown)."""
        for handle in self.proxies().values():
            with contextlib.suppress(ToxiproxyError):
                handle.delete()

    def __repr__(self) -> str:
        return f"Toxiproxy({self.url!r})"


def _q(name: str) -> str:
    return quote(name, safe="")


def _api_error(exc: urllib.error.HTTPError, path: str) -> ToxiproxyError:
    raw = exc.read()
    try:
        message = str(json.loads(raw)["error"])
    except (ValueError, KeyError, TypeError):
        message = raw.decode(errors="replace").strip() or str(exc.reason)
    return ToxiproxyError(message, status=exc.code, path=path)


@dataclass(slots=True)
class ProxyHandle:
    """One proxy on a server: where it listens, and its toxics, switchable from a test."""

    client: Toxiproxy
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        """The proxy's name."""
        return str(self.raw["name"])

    @property
    def listen(self) -> str:
        """The bound ``host:port`` clients connect to."""
        return str(self.raw["listen"])

    @property
    def host(self) -> str:
        """The host part of :attr:`listen` (an all-interfaces bind is reported as loopback)."""
        host = self.listen.rpartition(":")[0].strip("[]")
        return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - a comparison

    @property
    def port(self) -> int:
        """The port part of :attr:`listen`."""
        return int(self.listen.rpartition(":")[2])

    @property
    def upstream(self) -> str:
        """Where the proxy forwards to."""
        return str(self.raw["upstream"])

    @property
    def enabled(self) -> bool:
        """Whether it is listening."""
        return bool(self.raw["enabled"])

    def _path(self, suffix: str = "") -> str:
        return f"/proxies/{_q(self.name)}{suffix}"

    def add(self, toxic: Toxic | ToxicType | str, **attributes: Any) -> Toxic:
        """Add a toxic: a :class:`Toxic`, or a type name and keyword attributes.

        ``add("latency", latency=100, jitter=10, stream="upstream", toxicity=0.5, name="slow")``.
        """
        if not isinstance(toxic, Toxic):
            toxic = Toxic.make(toxic, **attributes)
        elif attributes:
            raise InvalidConfig("pass attributes inside the Toxic, or a type name with keywords, not both.")
        answer = self.client.request("POST", self._path("/toxics"), toxic.to_json())
        return _toxic(answer)

    def update(self, name: str, *, toxicity: float | None = None, **attributes: int) -> Toxic:
        """Change a toxic's attributes (merged) and/or toxicity."""
        body: dict[str, Any] = {"attributes": attributes}
        if toxicity is not None:
            body["toxicity"] = toxicity
        return _toxic(self.client.request("PATCH", self._path(f"/toxics/{_q(name)}"), body))

    def remove(self, name: str) -> None:
        """Remove the toxic called ``name``."""
        self.client.request("DELETE", self._path(f"/toxics/{_q(name)}"))

    def toxics(self) -> list[Toxic]:
        """The proxy's toxics in the server's order."""
        return [_toxic(raw) for raw in self.client.request("GET", self._path("/toxics")) or []]

    def down(self) -> None:
        """Stop listening and drop open connections (toxics are kept)."""
        self.raw = self.client.request("POST", self._path(), {"enabled": False})

    def up(self) -> None:
        """Listen again."""
        self.raw = self.client.request("POST", self._path(), {"enabled": True})

    @contextlib.contextmanager
    def disabled(self) -> Iterator[ProxyHandle]:
        """Down inside the block, up again after it on every exit path."""
        self.down()
        try:
            yield self
        finally:
            self.up()

    def refresh(self) -> ProxyHandle:
        """Reload the proxy's state from the server."""
        self.raw = self.client.request("GET", self._path())
        return self

    def connections(self) -> list[dict[str, Any]]:
        """Live connections (our server only; a real Toxiproxy answers 404)."""
        return list(self.client.request("GET", self._path("/connections")) or [])

    def delete(self) -> None:
        """Delete the proxy."""
        self.client.request("DELETE", self._path())


def _toxic(raw: dict[str, Any]) -> Toxic:
    from harness.faults.toxics import parse_toxic, update_toxic

    try:
        toxic = parse_toxic({k: v for k, v in raw.items() if k != "attributes"})
        return update_toxic(toxic, {"attributes": raw.get("attributes") or {}})
    except ToxicError as exc:
        raise UsageError(f"the proxy API returned a toxic this client cannot read: {raw!r} ({exc})") from None


def backend_from_env() -> Toxiproxy | None:
    """A client for the real Toxiproxy named by ``HARNESS_TOXIPROXY_URL``, or ``None``."""
    url = os.environ.get(TOXIPROXY_URL_ENV, "").strip()
    return Toxiproxy(url) if url else None
