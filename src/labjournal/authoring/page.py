"""A new lab's page for `labjournal add --page NAME`: created in `report/` as a short stub where it
does not exist, and listed in `_quarto.yml` (the one source of the journal's structure: the
sidebar's contents are the site's pages and the PDF's chapters) where it is not listed. Only the
new entry's text is added to `_quarto.yml` (where the parsed file says the list is), so its
comments and formatting stay as they were, byte for byte."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from labjournal.errors import LabjournalError
from labjournal.project import QUARTO_FILE, REPORT_DIR, Project

STUB = """---
title: {title}
---

{{## The lab's prose. Its results go in with {{{{ metric(...) }}}}, {{{{ figure(...) }}}} and
    {{{{ table(...) }}}}, as on the other pages; the note below goes once the lab has results. ##}}

{{{{ pending({lab}) }}}}
"""


@dataclass(frozen=True)
class PageEdit:
    """What giving a lab its page changes: the page's text where it is new, `_quarto.yml`'s text
    where the page is not listed there yet (None: left as it is)."""

    page: str
    stub: str | None
    quarto: str | None

    def files(self, project: Project) -> dict[Path, str]:
        written = {project.report_dir / self.page: self.stub, project.quarto_file: self.quarto}
        return {path: text for path, text in written.items() if text is not None}

    def done(self) -> list[str]:
        lines = []
        if self.stub is not None:
            lines.append(f"Created {REPORT_DIR}/{self.page}, a stub for the lab's prose.")
        if self.quarto is not None:
            lines.append(f"Listed {self.page} in {QUARTO_FILE} (website.sidebar.contents).")
        return lines


def check_page_name(page: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*\.qmd", page):
        raise LabjournalError(
            f"--page {page}: name a page file of {REPORT_DIR}/ ending in .qmd, e.g. --page lab02.qmd "
            "(no folder; a leading '_' marks a file other pages include, not a page)"
        )


def page_edit(project: Project, page: str, lab: str, lab_pages: list[str]) -> PageEdit:
    """The page created and listed as needed (the lab titled with its name, as the plan's entry)."""
    check_page_name(page)
    stub = None
    if not (project.report_dir / page).exists():
        stub = STUB.format(title=json.dumps(lab), lab=json.dumps(lab))
    listed = [p.source for p in project.site_config().pages]
    quarto = None
    if page not in listed:
        after = [p for p in listed if p in lab_pages]  # after the last lab's page, else at the end
        quarto = list_page(
            project.quarto_file.read_text(encoding="utf-8"), page, lab, after[-1] if after else None
        )
    return PageEdit(page, stub, quarto)


def list_page(text: str, page: str, title: str, after: str | None) -> str:
    """`_quarto.yml`'s text with `page` added to website.sidebar.contents after the entry of
    `after` (else last), written as the entry it follows (`href`/`text`, or the file alone, in
    block or flow style). Only the new entry's text is added: every other byte stays."""
    contents = _contents(text)
    items = contents.value
    hrefs = [_href(item) for item in items]
    index = hrefs.index(after) if after in hrefs else len(items) - 1
    item = items[index]
    plain = isinstance(item, yaml.ScalarNode)  # written as the entry it follows
    if contents.flow_style:
        entry = page if plain else f"{{href: {page}, text: {json.dumps(title)}}}"
        new = text[: item.end_mark.index] + f", {entry}" + text[item.end_mark.index :]
    else:
        lines = text.splitlines(keepends=True)
        column = item.start_mark.column
        prefix = lines[item.start_mark.line][:column]
        entry = (
            f"{prefix}{page}\n"
            if plain
            else f"{prefix}href: {page}\n{' ' * column}text: {json.dumps(title)}\n"
        )
        cut = _last_line(item) + 1
        before = "".join(lines[:cut])
        new = before + ("" if before.endswith("\n") else "\n") + entry + "".join(lines[cut:])
    if [_href(node) for node in _contents(new).value] != hrefs[: index + 1] + [page] + hrefs[index + 1 :]:
        raise LabjournalError(f"{QUARTO_FILE}: could not list {page}; add it to website.sidebar.contents")
    return new


def _contents(text: str) -> yaml.SequenceNode:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    for key in ("website", "sidebar", "contents"):
        found = [v for k, v in node.value if k.value == key] if isinstance(node, yaml.MappingNode) else []
        if not found:
            raise LabjournalError(f"{QUARTO_FILE}: no website.sidebar.contents to list the page in")
        node = found[0]
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise LabjournalError(f"{QUARTO_FILE}: website.sidebar.contents must list the journal's pages")
    return node


def _href(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return next((v.value for k, v in node.value if k.value == "href"), None)
    return None


def _last_line(node: yaml.Node) -> int:
    """The last line (0-based) holding some of a block node's text: its last scalar's line."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style:
        return max(_last_line(part) for pair in node.value for part in pair)
    if isinstance(node, yaml.SequenceNode) and not node.flow_style:
        return max(_last_line(part) for part in node.value)
    end = node.end_mark
    return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line
