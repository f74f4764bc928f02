"""`labjournal publish`: the built site onto the gh-pages branch, or into a folder."""

from __future__ import annotations

from rich.console import Console

from labjournal.authoring.publish import publish
from labjournal.commands.options import PublishOptions
from labjournal.errors import LabjournalError
from labjournal.project import Project


def main(project: Project, options: PublishOptions, console: Console) -> None:
    if not project.is_default and not options.not_the_journal:
        raise LabjournalError(
            f"{project.site_dir.name}/ is the '{project.profile_name}' profile's build, not the journal "
            f"(the '{project.default_profile}' profile's, in {project.with_profile(None).site_dir.name}/): "
            "publish it with --not-the-journal, or publish the journal without --profile"
        )
    console.print(f"Published: {publish(project, options.target)}")
