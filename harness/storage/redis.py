"""Redis-backed storage on ``redis.asyncio``; fakeredis is the embedded default.

Multi-step operations (compare-and-set, incr-with-expiry) are single Lua scripts, so they are
atomic across every process sharing the server.

Every failure of the server is a :class:`~harness.errors.StorageUnavailable` whose ``failure``
says which: unreachable, timed out, read-only replica, out of memory, or another error reply
(a missing database, an unknown script, a key of the wrong type). No ``redis`` exception leaves
this module, so callers handle one error type for every way the storage can let them down.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
import redis.exceptions

from harness._checks import invalid, positive
from harness.errors import InvalidConfig, StorageFailure, StorageUnavailable
from harness.storage.base import JSONValue, decode, encode, validate_key, validate_ttl

if TYPE_CHECKING:
    import fakeredis

__all__ = ["RedisStorage", "Script", "redact_url", "storage_failure"]

_T = TypeVar("_T")
Script = Callable[[Sequence[str], Sequence[Any]], Awaitable[Any]]
"""A Lua script bound to a storage: ``await script(keys, args)``; failures are ``StorageUnavailable``."""

_FAILURES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], StorageFailure], ...] = (
    ((redis.exceptions.TimeoutError, TimeoutError), StorageFailure.TIMEOUT),
    (redis.exceptions.ReadOnlyError, StorageFailure.READ_ONLY),
    (redis.exceptions.OutOfMemoryError, StorageFailure.OUT_OF_MEMORY),
    ((redis.exceptions.ConnectionError, OSError), StorageFailure.UNREACHABLE),
)
_ADVICE = {
    StorageFailure.UNREACHABLE: "is unreachable",
    StorageFailure.TIMEOUT: "is unreachable: no answer within the command timeout",
    StorageFailure.READ_ONLY: "is a read-only replica",
    StorageFailure.OUT_OF_MEMORY: "is out of memory",
    StorageFailure.ERROR_RESPONSE: "answered with an error",
}


def storage_failure(exc: BaseException) -> StorageFailure:
    """Which :class:`~harness.errors.StorageFailure` a ``redis`` (or socket) exception is."""
    for kinds, failure in _FAILURES:
        if isinstance(exc, kinds):
            return failure
    return StorageFailure.ERROR_RESPONSE


_CAS = """
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if cur then return 0 end
elseif cur ~= ARGV[1] then
  return 0
end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
"""

_INCR = """
local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and ARGV[2] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""

_GLOB = re.compile(r"([*?\[\]\\])")
_NOT_A_COUNTER = re.compile(r"not an integer|WRONGTYPE")


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _px(ttl: float | None) -> str:
    """Milliseconds for a Lua argument ('' for none); at least 1 ms."""
    if validate_ttl(ttl) is None:
        return ""
    assert ttl is not None
    return str(max(1, round(ttl * 1000)))


def _driver_info() -> dict[str, Any]:
    """redis-py >= 8 reads its package metadata for every new connection unless told its version:
    milliseconds with the event loop blocked, each time a pool opens a connection."""
    try:
        from redis.driver_info import DriverInfo
    except ImportError:  # redis-py before 8: no metadata read per connection
        return {}
    return {"driver_info": DriverInfo(lib_version=redis.__version__)}


def _bad_url(url: str, why: str) -> InvalidConfig:
    shown = redact_url(url)
    return InvalidConfig(
        f"invalid Redis URL {shown!r}: {why}; expected redis://host:port/db, rediss://... or unix:///path.sock.",
        field="url",
        value=shown,
    )


def _validate_url(url: str) -> None:
    """Check scheme, port and database number before redis-py parses the URL lazily."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _bad_url(url, str(exc)) from None
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise _bad_url(url, f"unsupported scheme {parts.scheme or '(none)'!r}")
    if parts.scheme == "unix":
        if not parts.path:
            raise _bad_url(url, "a unix URL needs a socket path")
        return
    if not parts.hostname:
        raise _bad_url(url, "no host")
    if port == 0:
        raise _bad_url(url, "port 0 is not a server port")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise _bad_url(url, f"database {db!r} is not a number")


class RedisStorage:
    """A ``Storage`` on Redis: keys are ``<namespace>:<key>``, values canonical JSON.

    ``from_url`` connects to a real server with bounded connect and command timeouts: an
    unreachable server fails with ``StorageUnavailable`` naming the URL, never hangs.
    ``embedded`` runs on fakeredis in-process, with no server at all.
    """

    def __init__(self, client: aioredis.Redis, *, namespace: str = "harness", url: str = "embedded") -> None:
        if not namespace or ":" in namespace:
            raise invalid("namespace", namespace, "non-empty and free of ':'", "for example 'harness'")
        self._client = client
        self._namespace = namespace
        self._prefix = f"{namespace}:"
        self.url = redact_url(url)
        self._cas = client.register_script(_CAS)
        self._incr = client.register_script(_INCR)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        namespace: str = "harness",
        connect_timeout: float = 2.0,
        command_timeout: float = 5.0,
    ) -> RedisStorage:
        """Storage on the Redis server at ``url`` (``redis://``, ``rediss://`` or ``unix://``).

        ``connect_timeout`` and ``command_timeout`` bound every connection attempt and every
        command, in seconds; both must be positive (a zero or missing timeout would let a hung
        server hang its callers).
        """
        _validate_url(url)
        positive("connect_timeout", connect_timeout, "for example 2.0", unit="seconds")
        positive("command_timeout", command_timeout, "for example 5.0", unit="seconds")
        try:
            client = aioredis.Redis.from_url(
                url,
                socket_connect_timeout=connect_timeout,
                socket_timeout=command_timeout,
                decode_responses=True,
                **_driver_info(),
            )
        except ValueError as exc:
            raise InvalidConfig(
                f"invalid Redis URL {redact_url(url)!r}: {exc}", field="url", value=redact_url(url)
            ) from None
        return cls(client, namespace=namespace, url=url)

    @classmethod
    def embedded(
        cls, *, namespace: str = "harness", server: fakeredis.FakeServer | None = None
    ) -> RedisStorage:
        """Storage on an in-process fakeredis server (a fresh one unless ``server`` is given)."""
        import fakeredis

        client = fakeredis.FakeAsyncRedis(server=server or fakeredis.FakeServer(), decode_responses=True)
        return cls(client, namespace=namespace, url="embedded")

    @property
    def client(self) -> aioredis.Redis:
        """The underlying ``redis.asyncio`` client, for backends that need raw commands."""
        return self._client

    def key(self, key: str) -> str:
        """The Redis key for storage key ``key``."""
        return self._prefix + validate_key(key)

    async def _call(self, op: Callable[[], Awaitable[_T]]) -> _T:
        try:
            return await op()
        except (redis.exceptions.RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: BaseException) -> StorageUnavailable:
        failure = storage_failure(exc)
        advice = "check that the server runs and the URL is right"
        if failure is not StorageFailure.UNREACHABLE and failure is not StorageFailure.TIMEOUT:
            advice = "the server refused the command"
        return StorageUnavailable(
            f"Redis at {self.url} {_ADVICE[failure]} ({type(exc).__name__}: {exc}); {advice}.",
            url=self.url,
            failure=failure,
        )

    def script(self, source: str) -> Script:
        """The Lua ``source`` registered on this server, run through this storage's error handling."""
        registered = self._client.register_script(source)

        async def run(keys: Sequence[str], args: Sequence[Any]) -> Any:
            return await self._call(lambda: registered(keys=list(keys), args=list(args)))

        return run

    async def get(self, key: str) -> JSONValue:
        """The value under ``key``, or ``None``."""
        k = self.key(key)
        return decode(await self._call(lambda: self._client.get(k)))

    async def set(self, key: str, value: JSONValue, *, ttl: float | None = None) -> None:
        """Store ``value`` with an optional expiry in seconds."""
        k, raw, px = self.key(key), encode(value), _px(ttl)
        await self._call(lambda: self._client.set(k, raw, px=int(px) if px else None))

    async def delete(self, key: str) -> bool:
        """Remove ``key``; ``True`` if it existed."""
        k = self.key(key)
        return bool(await self._call(lambda: self._client.delete(k)))

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``amount``; ``ttl`` applies when the key is created."""
        k, px = self.key(key), _px(ttl)
        try:
            return int(await self._incr(keys=[k], args=[amount, px]))
        except (redis.exceptions.ReadOnlyError, redis.exceptions.OutOfMemoryError) as exc:
            raise self._unavailable(exc) from exc
        except redis.exceptions.ResponseError as exc:
            if _NOT_A_COUNTER.search(str(exc)) is None:
                raise self._unavailable(exc) from exc
            raise InvalidConfig(f"incr({key!r}): {exc}", field="key", value=key) from None
        except (redis.exceptions.RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc

    async def compare_and_set(
        self, key: str, expected: JSONValue, new: JSONValue, *, ttl: float | None = None
    ) -> bool:
        """Set ``new`` only if the key holds ``expected`` (``None`` meaning absent)."""
        k = self.key(key)
        args: list[Any] = ["" if expected is None else encode(expected), encode(new), _px(ttl)]
        return bool(await self._call(lambda: self._cas(keys=[k], args=args)))

    async def ttl(self, key: str) -> float | None:
        """Seconds left before ``key`` expires, or ``None``."""
        k = self.key(key)
        ms = int(await self._call(lambda: self._client.pttl(k)))
        return None if ms < 0 else ms / 1000.0

    async def scan(self, prefix: str = "") -> list[str]:
        """Live keys starting with ``prefix``, sorted (SCAN, never KEYS)."""
        pattern = _GLOB.sub(r"\\\1", self._prefix + prefix) + "*"

        async def collect() -> list[str]:
            return [k async for k in self._client.scan_iter(match=pattern, count=500)]

        found = await self._call(collect)
        return sorted(k[len(self._prefix) :] for k in found)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    def __repr__(self) -> str:
        return f"RedisStorage(url={self.url!r}, namespace={self._namespace!r})"
