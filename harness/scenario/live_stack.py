"""The system under test in live mode: its services, its real dependencies, one fault proxy per path.

:class:`LiveStack` starts, in order: the shared services (dependency servers such as
redis-server), one :class:`~harness.faults.FaultProxy` per (traffic group, dependency) in front
of each real dependency, and one instance of each version's service per traffic group, whose
``${deps.NAME.url}`` is its group's proxy. So a fault on the experiment group's path to Redis
never touches the control group's. :meth:`LiveStack.stop` undoes everything in reverse order, and
is safe to call on any partial start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from harness.clock import Clock
from harness.errors import InvalidConfig
from harness.faults import FaultProxy
from harness.scenario.live_services import Notify, ServiceProcess, free_port
from harness.scenario.model import DependencyKind, DependencySpec, Scenario
from harness.scenario.templates import TemplateContext
from harness.seeding import Seeds

__all__ = ["Address", "LiveStack", "proxy_name"]


@dataclass(frozen=True, slots=True)
class Address:
    """Where a dependency (or a proxy in front of it) listens, and its URL in the dependency's scheme."""

    kind: DependencyKind
    host: str
    port: int
    url: str

    def moved(self, host: str, port: int) -> Address:
        """The same URL (scheme, database, path) at another host and port."""
        if self.kind is DependencyKind.TCP and "://" not in self.url:
            return Address(self.kind, host, port, f"{host}:{port}")
        parts = urlsplit(self.url)
        return Address(self.kind, host, port, urlunsplit(parts._replace(netloc=f"{host}:{port}")))

    def parts(self) -> dict[str, str]:
        """``url``, ``host`` and ``port`` as template values."""
        return {"url": self.url, "host": self.host, "port": str(self.port)}


def _parse(kind: DependencyKind, url: str) -> Address:
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    if parts.hostname is None or parts.port is None:
        raise InvalidConfig(f"dependency url {url!r} needs a host and a port", field="url", value=url)
    return Address(kind, parts.hostname, parts.port, url)


def _served_url(kind: DependencyKind, port: int) -> str:
    if kind is DependencyKind.REDIS:
        return f"redis://127.0.0.1:{port}/0"
    if kind is DependencyKind.HTTP:
        return f"http://127.0.0.1:{port}"
    return f"127.0.0.1:{port}"


def proxy_name(group: str, dependency: str) -> str:
    """The fault proxy between ``group`` and ``dependency``: ``group->dependency``."""
    return f"{group}->{dependency}"


class LiveStack:
    """Services, dependency proxies and the address of each group's version for one live run."""

    def __init__(
        self, scenario: Scenario, seeds: Seeds, clock: Clock, logs: Path, notify: Notify | None = None
    ) -> None:
        self.scenario = scenario
        self.notify = notify
        self.seeds = seeds
        self.clock = clock
        self.logs = logs
        self.shared: dict[str, ServiceProcess] = {}
        self.instances: dict[str, ServiceProcess] = {}
        self.real: dict[str, Address] = {}
        self.proxies: dict[tuple[str, str], FaultProxy] = {}
        self.urls: dict[str, str] = {}

    # -- start -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start everything in dependency order; on any failure stop what started and re-raise."""
        try:
            await self._start_shared()
            self._resolve_dependencies()
            await self._start_proxies()
            await self._start_instances()
        except BaseException:
            await self.stop()
            raise

    def _used_services(self) -> set[str]:
        sc = self.scenario
        return {v.http.service for v in sc.versions.values() if v.http is not None and v.http.service}

    async def _start_shared(self) -> None:
        sc = self.scenario
        shared = sorted({d.service for d in sc.dependencies.values() if d.service is not None})
        shared += sorted(n for n in self._used_services() if sc.services[n].shared and n not in shared)
        for name in shared:
            spec = sc.services[name]
            if spec.command is None:
                continue
            process = ServiceProcess(
                name,
                spec,
                TemplateContext(port=free_port()),
                log=self.logs / f"{name}.log",
                clock=self.clock,
                notify=self.notify,
            )
            self.shared[name] = process
        await asyncio.gather(*(p.start() for p in self.shared.values()))

    def _dependency_address(self, spec: DependencySpec) -> Address | None:
        if spec.url is not None:
            return _parse(spec.kind, spec.url)
        if spec.service is None:
            return None
        service = self.scenario.services[spec.service]
        if service.url is not None:
            return _parse(spec.kind, service.url)
        port = int(self.shared[spec.service].port or 0)
        return Address(spec.kind, "127.0.0.1", port, _served_url(spec.kind, port))

    def _resolve_dependencies(self) -> None:
        for name, spec in self.scenario.dependencies.items():
            address = self._dependency_address(spec)
            if address is not None:
                self.real[name] = address

    def _groups_with_services(self) -> dict[str, str]:
        """Group -> the service its version is started from (non-shared started services only)."""
        out = {}
        for group, version in self.scenario.live_groups.items():
            http = self.scenario.versions[version].http
            if http is None or http.service is None:
                continue
            spec = self.scenario.services[http.service]
            if spec.command is not None and not spec.shared:
                out[group] = http.service
        return out

    async def _start_proxies(self) -> None:
        for group in self._groups_with_services():
            for dep, address in self.real.items():
                proxy = FaultProxy(
                    proxy_name(group, dep),
                    f"{address.host}:{address.port}",
                    seed=self.seeds.int_seed(f"proxy/{group}/{dep}"),
                    clock=self.clock,
                )
                self.proxies[(group, dep)] = proxy
                await proxy.start()

    def _context(self, group: str, version: str) -> TemplateContext:
        http = self.scenario.versions[version].http
        assert http is not None
        deps: dict[str, Mapping[str, str]] = {}
        for dep, real in self.real.items():
            host, _, port = self.proxies[(group, dep)].listen.rpartition(":")
            deps[dep] = real.moved(host, int(port)).parts()
        return TemplateContext(port=free_port(), group=group, version=version, vars=http.vars, deps=deps)

    async def _start_instances(self) -> None:
        sc = self.scenario
        for group, service in self._groups_with_services().items():
            spec = sc.services[service]
            name = f"{service}@{group}"
            context = self._context(group, sc.live_groups[group])
            self.instances[group] = ServiceProcess(
                name, spec, context, log=self.logs / f"{name}.log", clock=self.clock, notify=self.notify
            )
        await asyncio.gather(*(p.start() for p in self.instances.values()))
        for group, version in sc.live_groups.items():
            url = self._version_url(group, version)
            if url is not None:
                self.urls[group] = url

    def _version_url(self, group: str, version: str) -> str | None:
        http = self.scenario.versions[version].http
        if http is None:
            return None
        if http.url is not None:
            return http.url
        assert http.service is not None
        spec = self.scenario.services[http.service]
        if spec.url is not None:
            return spec.url
        process = self.instances.get(group) or self.shared[http.service]
        return f"http://{process.address}"

    # -- stop --------------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop instances, proxies and shared services, in that order.

        Every step runs even when an earlier one failed; the first failure is raised at the end.
        """
        steps: list[Callable[[], Awaitable[None]]] = [p.stop for p in reversed(self.instances.values())]
        steps += [proxy.stop for proxy in self.proxies.values()]
        steps += [p.stop for p in reversed(self.shared.values())]
        errors: list[Exception] = []
        for step in steps:
            try:
                await step()
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest; raised below
                errors.append(exc)
        if errors:
            raise errors[0]

    def kill_now(self) -> None:
        """SIGKILL every started process at once (when the event loop can no longer run)."""
        for process in [*self.instances.values(), *self.shared.values()]:
            process.kill_now()

    def processes(self) -> list[ServiceProcess]:
        """Every started process, shared ones first."""
        return [*self.shared.values(), *self.instances.values()]
