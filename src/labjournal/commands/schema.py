"""`labjournal schema journal|claims`: the JSON Schema of journal.yml or report/claims.yml, made from
the models that validate them (labjournal.authoring.schemas), on stdout."""

from __future__ import annotations

from rich.console import Console

from labjournal.authoring.schemas import schema_text
from labjournal.commands.options import SchemaOptions


def main(project: None, options: SchemaOptions, console: Console) -> None:
    print(schema_text(options.which), end="")
