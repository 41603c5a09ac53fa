"""Subcommands imported when they run: a table of ``(name, module, help, extra)`` and the group that reads it.

``harness --help`` lists every subcommand from the table without importing one, so the help and
``--version`` pay for no scientific library. Running ``harness NAME`` first checks the row's extra
(a usage error naming it when it is missing), then imports ``module`` and calls its
``register(app)`` on a scratch Typer app to build the command.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

from harness._extras import missing_extra, require

__all__ = ["Command", "LazyCommands"]


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: ``harness name`` is registered by ``module.register(app)``.

    ``help`` is the line ``harness --help`` shows; ``extra`` names the optional extra the module
    needs (``None`` when the base install runs it).
    """

    name: str
    module: str
    help: str
    extra: str | None = None


class LazyCommands(TyperGroup):
    """A Typer group whose subcommands come from ``commands`` and load on first use."""

    commands_table: ClassVar[tuple[Command, ...]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._loaded: dict[str, Any] = {}
        self._listing = False

    def _row(self, name: str) -> Command | None:
        return next((row for row in self.commands_table if row.name == name), None)

    def list_commands(self, ctx: Any) -> list[str]:
        """The eager commands, then the table's, in table order."""
        eager = super().list_commands(ctx)
        return [*eager, *(row.name for row in self.commands_table if row.name not in eager)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command ``cmd_name``: a help-only stand-in while listing, else the loaded command."""
        row = self._row(cmd_name)
        if row is None or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        if self._listing:
            return TyperCommand(name=row.name, help=row.help, short_help=row.help)
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = self.load(row)
        return self._loaded[cmd_name]

    @staticmethod
    def load(row: Command) -> Any:
        """Import ``row.module`` (after checking ``row.extra``) and build the command ``row.name``."""
        feature = f"harness {row.name}"
        if row.extra is not None:
            require(row.extra, feature)
        try:
            module = importlib.import_module(row.module)
        except ModuleNotFoundError as exc:
            raise missing_extra(exc, feature) from exc
        scratch = typer.Typer()
        module.register(scratch)
        command = typer.main.get_group(scratch).commands.get(row.name)
        if command is None:
            raise LookupError(f"{row.module}.register() registers no command named {row.name!r}")
        return command

    @contextmanager
    def _help_only(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The group's help, listing the table's commands without importing them."""
        with self._help_only():
            super().format_help(ctx, formatter)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        """Resolve as Typer does; on a typo, suggest the closest table names too."""
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as exc:
            message = getattr(exc, "message", None)
            if isinstance(message, str) and args and "Did you mean" not in message:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    exc.message = f"{message.rstrip('.')}. Did you mean {', '.join(map(repr, matches))}?"
            raise
