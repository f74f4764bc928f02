"""A command's options, declared once: each is a field of a typed options record (a dataclass)
whose metadata is its command-line flag. The CLI makes its parser from these fields and the
parsed arguments back into the record, so a new option is one field, not three edits.

    @dataclass(frozen=True)
    class ServeOptions:
        port: int = flag("--port", default=8000, type=int, help="0 picks a free port")

Imports nothing of the engine: `labjournal --help` and the no-op report stay instant.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def flag(*flags: str, default: Any = None, factory: Any = None, **settings: Any) -> Any:
    """A field that is also a command-line argument: `flags` and argparse's `settings` (help,
    type, choices, action, ...). `factory` makes a mutable default (a list for `append`)."""
    metadata = {"flags": flags, "settings": settings}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def switch(*flags: str, help: str) -> Any:  # noqa: A002 - argparse's own name
    """A flag that is off unless given (`store_true`)."""
    return flag(*flags, default=False, action="store_true", help=help)


def _arguments(options: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(options) if "flags" in f.metadata]


def add_arguments(parser: argparse.ArgumentParser, options: type) -> None:
    """One `add_argument` per flagged field, in the order the record declares them."""
    for f in _arguments(options):
        flags, settings = f.metadata["flags"], dict(f.metadata["settings"])
        default: Any = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if not flags[0].startswith("-"):  # a positional argument is named by its field
            parser.add_argument(f.name, **({"default": default} if "nargs" in settings else {}), **settings)
            continue
        parser.add_argument(*flags, dest=f.name, default=default, **settings)


def from_arguments(options: type[T], args: argparse.Namespace) -> T:
    """The options record of parsed arguments."""
    return options(**{f.name: getattr(args, f.name) for f in _arguments(options)})


def values(options: object, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """The record's flagged values by field name (what the no-op check of `report` compares)."""
    return {f.name: getattr(options, f.name) for f in _arguments(type(options)) if f.name not in leave_out}


PROFILE_HELP = (
    "the plan profile (default: the plan's default profile; another's results and site go to "
    "results/index.NAME.json and _site-NAME/)"
)


@dataclass(frozen=True)
class ProfileOption:
    """`--profile`, which every command that reads a journal takes."""

    profile: str | None = flag("--profile", help=PROFILE_HELP)
