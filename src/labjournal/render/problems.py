"""Every problem of a render reported at once, each at its page and line: what the prose
functions raise (a missing metric, grid point, figure, a claim that cannot be judged), template
errors, and what the checks of the rendered pages find (labjournal.render.crossref: references,
images, links, citations). A prose function that fails gives a stand-in value and the page goes
on, so one render names every problem of the journal instead of one per try."""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from labjournal.errors import FailedRunsError, RenderError, ResultLookupError
from labjournal.render.formatting import NotRun
from labjournal.render.prose import ProseFunction, RenderState

LOCATED = re.compile(r"^[\w./-]+:\d+: ")  # a message that names its own file and line
_PLACE = re.compile(r"^([\w./-]+?):(\d+)")  # where a check's message starts: report/x.qmd:12


@dataclass
class Problems:
    found: list[tuple[str, int, str]] = field(default_factory=list)  # (page, line, message)
    asked: dict[str, list[str]] = field(default_factory=dict)  # a located message: the pages asking

    def at(self, shown: str, line: int | None, message: str) -> None:
        """A problem at `shown` (report/x.qmd) and line; a message that names its own place (an
        error in claims.yml) leads with it, once, and says which pages asked."""
        where = f"{shown}:{line}" if line else shown
        if LOCATED.match(message):
            asked = self.asked.setdefault(message, [])
            if where not in asked:
                asked.append(where)
            if len(asked) > 1:  # said already: the pages that asked are listed there
                return
        text = f"{message} (asked by {where})" if LOCATED.match(message) else f"{where}: {message}"
        if not any(found == text for *_, found in self.found):  # the second pass says it again
            self.found.append((Path(shown).name, line or 0, text))

    def add(self, messages: list[str]) -> None:
        """Problems the checks of the rendered pages found, each starting with its page and line."""
        for text in messages:
            match = _PLACE.match(text)
            page, line = (Path(match.group(1)).name, int(match.group(2))) if match else ("", 0)
            self.found.append((page, line, text))

    def noted(self, shown: str, line: int | None) -> bool:
        """Whether a problem was noted there already (what followed it is not another problem)."""
        return any((page, at) == (Path(shown).name, line or 0) for page, at, _ in self.found)

    def raise_any(self, pages: list[str]) -> None:
        """A RenderError with every problem, in the order of the `pages` (their file names, in the
        site's order) and of their lines."""
        if not self.found:
            return
        rank = {page: i for i, page in enumerate(pages)}
        ordered = sorted(self.found, key=lambda found: (rank.get(found[0], len(pages)), found[1]))
        raise RenderError("\n".join(self._asked_by_all(text) for *_, text in ordered))

    def _asked_by_all(self, text: str) -> str:
        """A located message with every page that asked for it, not only the first."""
        for message, asked in self.asked.items():
            if len(asked) > 1 and text == f"{message} (asked by {asked[0]})":
                return f"{message} (asked by {', '.join(asked)})"
        return text


def calling_line(source: Path) -> int | None:
    """The line of the page `source` whose expression is running now (Jinja's compiled page is
    on the stack, its template maps the line)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == str(source):
            template = frame.f_globals.get("__jinja_template__")
            return template.get_corresponding_lineno(frame.f_lineno) if template else None
        frame = frame.f_back
    return None


def tolerant(prose: ProseFunction, state: RenderState, problems: Problems) -> Any:
    """A prose function that never stops its page. Where its runs failed, a `"block"` or
    `"value"` function gives a note (and the render records the failed run); any other error is
    noted at the page's line and the function gives a stand-in, so the page goes on. Called with
    a note for an argument (`metric(best(...).ref, ...)` where `best` failed), it gives that note."""

    @functools.wraps(prose.function)
    def call(*args: Any, **kwargs: Any) -> Any:
        given = next((a for a in (*args, *kwargs.values()) if isinstance(a, NotRun)), None)
        if given is not None:  # a value that is a note (its runs failed, or not run yet) passed on
            return given.note() if prose.failed_runs == "block" else given
        try:
            return prose.function(*args, **kwargs)
        except FailedRunsError as exc:
            if prose.failed_runs is None:
                return _noted(exc, state, problems)
            state.failed.append(exc.where)
            note = NotRun(exc.lab, failed=exc.where)
            return note.note() if prose.failed_runs == "block" else note
        except (ResultLookupError, TypeError, ValueError) as exc:
            return _noted(exc, state, problems)

    return call


def _noted(exc: BaseException, state: RenderState, problems: Problems) -> NotRun:
    source = state.project.report_dir / state.page
    shown = f"{state.project.report_dir.name}/{state.page}"
    problems.at(shown, calling_line(source), str(exc))
    return NotRun("")  # prints as a note, and any attribute of it is itself: the page renders on
