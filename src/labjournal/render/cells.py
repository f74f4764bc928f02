"""Quarto's executable code cells (```` ```{python} ````) in the author's pages: reported, never
shown as text. A journal's numbers, tables and figures come from the plan's notebooks, where they
are run, keyed and recorded; a cell in a page would be run by nobody under the built-in engine
(pandoc prints it as code) and, under Quarto, by a kernel outside the plan, with no key, no
provenance and no freshness. So each one is a render problem at its page and line, saying what to
write instead."""

from __future__ import annotations

import re

# A fence opening an executable cell: ```{python}, ```{r}, ```{julia}, ```{ojs}, ```{bash} ... (a
# fence with a plain language, ```python, shows code and is left alone).
_CELL = re.compile(r"^\s*(`{3,}|~{3,})\s*\{\s*([A-Za-z][\w-]*)[^}]*\}\s*$")


def executable_cell_problems(pages: list[tuple[str, str, str, str]]) -> list[str]:
    """`pages`: (page name, rendered text, source text, source path as shown). One problem per
    executable cell in an author's source, at its line."""
    problems = []
    for _name, _out, source, shown in pages:
        for number, line in enumerate(source.splitlines(), start=1):
            match = _CELL.match(line)
            if match is None or match.group(2) in ("=html", "=latex", "=typst"):
                continue
            language = match.group(2)
            problems.append(
                f"{shown}:{number}: a Quarto code cell ({{{language}}}) is not run by labjournal: compute "
                f"it in a notebook of the plan and place what it records with {{{{ metric(...) }}}}, "
                f"{{{{ figure(...) }}}} or {{{{ table(...) }}}}; to show code without running it, write "
                f"```{language} (no braces)"
            )
    return problems
