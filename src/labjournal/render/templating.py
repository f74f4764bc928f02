"""The Jinja side of rendering: the environment the pages render in (strict: a misspelt name is an
error), Quarto shortcodes kept from Jinja, and the page line an error happened at."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import jinja2
from markupsafe import Markup

from labjournal.project import SHIPPED_TEMPLATES, Project
from labjournal.render.formatting import attribute_text, escape_data, markdown_text
from labjournal.render.formatting import format_aggregate_or_note as _shown

SHORTCODE = re.compile(r"\{\{<(.*?)>\}\}", re.DOTALL)
BLANK_RUNS = re.compile(r"\n{3,}")  # left behind by {% set %} and {% if %} lines


def protect_shortcodes(text: str) -> str:
    """Wrap Quarto shortcodes in raw blocks so Jinja leaves them for Quarto."""
    return SHORTCODE.sub(lambda m: "{% raw %}{{<" + m.group(1) + ">}}{% endraw %}", text)


def make_environment(project: Project) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(
            [str(project.report_dir), str(project.templates_dir), str(SHIPPED_TEMPLATES)]
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=escape_data,
        autoescape=False,
        # Pandoc attributes start with "{#" ({#fig-id}, {#refs}); Jinja comments use "{##" instead.
        comment_start_string="{##",
        comment_end_string="##}",
    )
    env.filters["md"] = markdown_text
    env.filters["attr"] = attribute_text
    # Numbers formatted by the engine: digits, %, ±, "n = 3"; nothing from data.
    # Without digits, as a table shows the same aggregate (labjournal.render.formatting.places).
    env.filters["pct"] = lambda agg, digits=None: Markup(_shown(agg, digits=digits, percent=True))
    env.filters["num"] = lambda agg, digits=None: Markup(_shown(agg, digits=digits))
    env.filters["mean_pct"] = lambda agg, digits=None: Markup(
        _shown(agg, digits=digits, percent=True, spread=False)
    )
    env.filters["mean"] = lambda agg, digits=None: Markup(_shown(agg, digits=digits, spread=False))
    return env


def template_line(exc: BaseException, page: Path) -> int | None:
    """The line of the page being rendered where the error happened (Jinja maps frames to it)."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == page.resolve():
            line = frame.lineno
    return line


def after_front_matter(text: str, banner: str) -> str:
    """`banner` placed after a page's YAML front matter (or at its top)."""
    if not banner:
        return text
    match = re.match(r"---\n.*?\n---\n", text, flags=re.DOTALL)
    at = match.end() if match else 0
    return text[:at] + "\n" + banner + text[at:]


def render_file(env: jinja2.Environment, source: Path, text: str) -> str:
    # Compile with the page's real file name so that Jinja's traceback lines point into it.
    code = env.compile(text, name=source.name, filename=str(source))
    template = env.template_class.from_code(env, code, env.make_globals(None))
    return template.render()
