"""``${...}`` templates in service commands and environments: one small language, no evaluation.

A template is text with placeholders: ``${port}`` (a free 127.0.0.1 port allocated for this
service instance), ``${group}`` (the traffic group the instance serves), ``${version}``,
``${vars.NAME}`` (from the version's ``vars``) and ``${deps.NAME.url}``, ``${deps.NAME.host}``,
``${deps.NAME.port}``: the address *this group* uses for dependency NAME (in live mode the
group's fault proxy in front of the real dependency; in simulated mode the simulated address).
``$${`` writes a literal ``${``. Nothing else is substituted and nothing is evaluated; an unknown
name is an error that lists the known ones.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field

__all__ = [
    "DEPENDENCY_PARTS",
    "TemplateContext",
    "TemplateError",
    "check_template",
    "render",
    "template_names",
]

DEPENDENCY_PARTS = ("url", "host", "port")
"""What ``${deps.NAME.<part>}`` may ask for."""

_PLACEHOLDER = re.compile(r"\$(\$?)\{([^{}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$")


class TemplateError(ValueError):
    """A template names something unknown or is malformed; the message lists the known names.

    A ``ValueError`` so that pydantic reports it at the field, with the file's line.
    """


def _placeholders(text: str) -> Iterator[tuple[re.Match[str], str]]:
    for match in _PLACEHOLDER.finditer(text):
        if not match.group(1):
            yield match, match.group(2).strip()


def template_names(text: str) -> list[str]:
    """The names ``text`` refers to, in order (``["port", "deps.redis.url"]``); escaped ones excluded."""
    names = []
    for _, name in _placeholders(text):
        if not _NAME.match(name):
            raise TemplateError(
                f"${{{name}}} is not a template name; write ${{port}}, ${{group}}, ${{version}}, "
                "${vars.NAME} or ${deps.NAME.url|host|port} (and $${ for a literal ${)"
            )
        names.append(name)
    return names


def check_template(text: str, known: Collection[str]) -> list[str]:
    """The names in ``text``, after checking each is in ``known`` (else a :class:`TemplateError`)."""
    names = template_names(text)
    for name in names:
        if name not in known:
            raise TemplateError(f"${{{name}}} is unknown here; known: {', '.join(sorted(known)) or 'none'}")
    return names


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every placeholder replaced from ``values`` (:class:`TemplateError` if one is missing)."""
    check_template(text, values)

    def substitute(match: re.Match[str]) -> str:
        if match.group(1):
            return "${" + match.group(2) + "}"
        return values[match.group(2).strip()]

    return _PLACEHOLDER.sub(substitute, text)


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateContext:
    """What the placeholders of one service instance stand for.

    ``deps`` maps a dependency name to its address for this instance: ``url``, ``host``, ``port``.
    """

    port: int | None = None
    group: str | None = None
    version: str | None = None
    vars: Mapping[str, str] = field(default_factory=dict)
    deps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def values(self) -> dict[str, str]:
        """Every name this context defines, with its text."""
        out: dict[str, str] = {}
        if self.port is not None:
            out["port"] = str(self.port)
        if self.group is not None:
            out["group"] = self.group
        if self.version is not None:
            out["version"] = self.version
        out.update({f"vars.{k}": v for k, v in self.vars.items()})
        for name, address in self.deps.items():
            out.update({f"deps.{name}.{part}": address[part] for part in DEPENDENCY_PARTS})
        return out

    def render(self, text: str) -> str:
        """``text`` rendered in this context."""
        return render(text, self.values())
