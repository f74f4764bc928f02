"""Writing as in Quarto: `@fig-`, `@tbl-`, `@eq-`, `@sec-` cross-references, the author's own
images under report/, equations with labels, in the built-in engine's site and PDF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pypandoc
import pytest
from conftest import serve
from rich.console import Console

from labjournal.build.outputs import build_outputs
from labjournal.errors import RenderError
from labjournal.plan.model import load_plan
from labjournal.project import Project
from labjournal.render.crossref import check_references
from labjournal.render.journal import render_journal
from labjournal.results.store import ResultsStore
from labjournal.run.request import RunRequest
from labjournal.run.scheduler import run_plan

REPO = Path(__file__).resolve().parents[1]
FILTER = REPO / "templates" / "crossref.lua"


def _check(*pages: tuple[str, str]) -> None:
    check_references([(name, text, text, f"report/{name}") for name, text in pages])


# -- the check before pandoc runs ------------------------------------------------------------


def test_a_reference_to_a_label_on_its_page_passes() -> None:
    _check(
        ("a.qmd", "## Method {#sec-method}\n\n![x](x.png){#fig-x width=50%}\n\nSee @fig-x and @sec-method.\n")
    )


def test_an_unresolved_reference_names_the_page_and_line_and_the_labels_there() -> None:
    text = "![x](x.png){#fig-loss}\n\nIntro.\n\nAs @fig-los shows.\n"
    with pytest.raises(RenderError, match=r"report/a.qmd:5: @fig-los refers to no figure.*fig-loss"):
        _check(("a.qmd", text))


def test_a_reference_to_another_page_says_to_link_there() -> None:
    with pytest.raises(
        RenderError, match=r"report/b.qmd:1: @tbl-t refers to a table on a.qmd.*\(a.html#tbl-t\)"
    ):
        _check(("a.qmd", "| a |\n|---|\n| 1 |\n\n: cap {#tbl-t}\n"), ("b.qmd", "See @tbl-t.\n"))


def test_a_label_given_twice_in_the_journal_is_an_error_naming_both() -> None:
    with pytest.raises(
        RenderError, match=r"report/b.qmd:2: the label #sec-x is also given at report/a.qmd:1"
    ):
        _check(("a.qmd", "# A {#sec-x}\n"), ("b.qmd", "\n# B {#sec-x}\n"))


def test_code_emails_and_escapes_are_not_references() -> None:
    _check(
        (
            "a.qmd",
            "Write `@fig-x` to cite.\n\n```\n@fig-y {#fig-z}\n```\n\nMail me@fig-x.org, or \\@fig-q.\n",
        )
    )


def test_an_engine_written_label_is_named_by_its_rendered_line() -> None:
    rendered = "Intro.\n\n![c](f.png){#fig-a}\n\n![c](f.png){#fig-a}\n"
    with pytest.raises(RenderError, match=r"a.qmd:5 \(as rendered\)"):
        check_references([("a.qmd", rendered, "Intro.\n\n{{ figure(...) }}\n", "report/a.qmd")])


# -- the pandoc filter -----------------------------------------------------------------------

DOCUMENT = """---
title: t
---
# Method {#sec-method}

![Unlabelled](a.png)

![Loss](a.png){#fig-loss}

| a |
|---|
| 1 |

: Scores {#tbl-scores}

$$ E = mc^2 $$ {#eq-energy}

See @fig-loss, [-@tbl-scores], @eq-energy and @sec-method.
"""


def _pandoc(to: str, text: str) -> str:
    command = [
        pypandoc.get_pandoc_path(),
        "--from=markdown",
        f"--to={to}",
        "--wrap=none",
        f"--lua-filter={FILTER}",
    ]
    return subprocess.run(command, input=text, capture_output=True, text=True, check=True).stdout


def test_html_numbers_labelled_figures_tables_and_equations_and_links_them() -> None:
    html = _pandoc("html5", DOCUMENT)
    assert "<figcaption>Figure 1: Loss</figcaption>" in html  # the unlabelled one is not numbered
    assert "Table 1: Scores" in html
    assert '<a href="#fig-loss" class="quarto-xref">Figure\u00a01</a>' in html
    assert '<a href="#tbl-scores" class="quarto-xref">1</a>' in html  # -@: the number alone
    assert '<a href="#eq-energy" class="quarto-xref">Equation\u00a01</a>' in html
    assert '<a href="#sec-method" class="quarto-xref">Method</a>' in html
    assert 'id="eq-energy" class="equation"' in html and "(1)" in html
    assert "{#eq-energy}" not in html


def test_the_pdf_numbers_references_as_typst_numbers_its_figures(tmp_path: Path) -> None:
    import typst
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    fig.savefig(tmp_path / "a.png", dpi=20)
    plt.close(fig)
    (tmp_path / "doc.typ").write_text(_pandoc("typst", DOCUMENT))
    (tmp_path / "doc.pdf").write_bytes(typst.compile(str(tmp_path / "doc.typ"), root=str(tmp_path)))
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "doc.pdf"), "-"], capture_output=True, text=True
    ).stdout
    text = " ".join(text.split())
    # typst numbers every figure: the unlabelled one is Figure 1, so the labelled one is Figure 2,
    # and the reference must say so too.
    assert "Figure 2: Loss" in text and "See Figure 2, 1, Equation 1 and Method" in text
    assert "Table 1: Scores" in text and "(1)" in text


SUBFIGURES = """---
title: t
---
![Before](a.png){#fig-before}

::: {#fig-pair layout-ncol=2}
![The left panel](a.png){#fig-left}

![The right panel](a.png){#fig-right}

Two panels side by side.
:::

::: {#fig-inline layout-ncol=2}
![Up](a.png){#fig-up} ![Down](a.png){#fig-down}

Two in a line.
:::

![After](a.png){#fig-after}

See @fig-pair, @fig-left, [-@fig-right], @fig-down and @fig-after.
"""


def test_a_figure_div_of_panels_is_one_figure_whose_panels_are_lettered() -> None:
    html = _pandoc("html5", SUBFIGURES)
    assert '<figure id="fig-pair" class="subfigures">' in html
    assert "<figcaption>Figure 2: Two panels side by side.</figcaption>" in html
    assert "<figcaption>(a) The left panel</figcaption>" in html
    assert "<figcaption>(b) The right panel</figcaption>" in html
    assert "grid-template-columns: repeat(2, minmax(0, 1fr))" in html  # layout-ncol=2
    # Each panel is a figure of its own id, inside the set's grid, inside the set.
    pair = html[html.index('<figure id="fig-pair"') : html.index("Figure 2: Two panels")]
    assert '<figure id="fig-left">' in pair and '<figure id="fig-right">' in pair
    assert "<figcaption>(b) Down</figcaption>" in html and "Figure 3: Two in a line." in html
    # Later figures keep their numbers: the panels are not counted as figures.
    assert "<figcaption>Figure 4: After</figcaption>" in html
    links = [
        '<a href="#fig-pair" class="quarto-xref">Figure\u00a02</a>',
        '<a href="#fig-left" class="quarto-xref">Figure\u00a02(a)</a>',
        '<a href="#fig-right" class="quarto-xref">2(b)</a>',
        '<a href="#fig-down" class="quarto-xref">Figure\u00a03(b)</a>',
        '<a href="#fig-after" class="quarto-xref">Figure\u00a04</a>',
    ]
    for link in links:
        assert link in html, link


def _words(pdf: Path) -> list[tuple[str, float, float]]:
    """(word, x, y) of every word of a PDF's first page, by pdftotext -bbox."""
    import re

    page = subprocess.run(["pdftotext", "-bbox", "-l", "1", str(pdf), "-"], capture_output=True, text=True)
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', page.stdout)
    return [(word, float(x), float(y)) for x, y, word in found]


def test_in_the_pdf_the_panels_sit_side_by_side_under_one_number(tmp_path: Path) -> None:
    import typst
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    fig.savefig(tmp_path / "a.png", dpi=30)
    plt.close(fig)
    (tmp_path / "doc.typ").write_text(_pandoc("typst", SUBFIGURES))
    (tmp_path / "doc.pdf").write_bytes(typst.compile(str(tmp_path / "doc.typ"), root=str(tmp_path)))
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(tmp_path / "doc.pdf"), "-"], capture_output=True, text=True
        ).stdout.split()
    )
    assert "(a) The left panel (b) The right panel Figure 2: Two panels side by side." in text
    assert "Figure 4: After" in text and "Figure 5" not in text  # typst counted the sets, not the panels
    assert "See Figure 2, Figure 2(a), 2(b), Figure 3(b) and Figure 4." in text
    words = _words(tmp_path / "doc.pdf")
    (_, left_x, left_y), (_, right_x, right_y) = [w for w in words if w[0] in ("(a)", "(b)")][:2]
    assert abs(left_y - right_y) < 1 and right_x > left_x + 100  # one row, two columns


def test_the_pdf_cites_when_a_page_cites_a_work_of_the_bibliography(tmp_path: Path) -> None:
    from labjournal.build.combined import journal_cites

    bib = tmp_path / "references.bib"
    bib.write_text("@article{doe2020, title = {T}, author = {Doe, J}, year = {2020}}\n")
    assert journal_cites(["Intro.", "As @doe2020 says."], [{}, {}], bib)
    assert journal_cites(["Intro."], [{"nocite": "@*"}], bib)
    assert not journal_cites(["See @fig-x, `@doe2020`, me@doe2020.org."], [{}], bib)
    assert not journal_cites(["As @doe2020 says."], [{}], None)


# -- a journal written as a Quarto user would ------------------------------------------------

HABITS_PAGE = """---
title: Demo lab
---

## Method {#sec-method}

The model is @eq-square, drawn in @fig-diagram; @fig-demo-plot shows a run and @tbl-demo-squares
its numbers, as @sec-method says.

$$ y = x^2 $$ {#eq-square}

![How the square is made](diagram.png){#fig-diagram}

{{ figure("demo/squares", "plot", x=1.0) }}

{{ table("demo/squares", ["square", "noisy"], by=["x"]) }}

::: {.callout-note}
A callout with a footnote[^1] and math $a^2$.
:::

[^1]: The footnote.

{{< pagebreak >}}

See the [data](data/points.csv).

{{ claims_method() }}
"""


@pytest.fixture
def habits_project(demo_project: Path) -> Path:
    from matplotlib import pyplot as plt

    report = demo_project / "report"
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    fig.savefig(report / "diagram.png", dpi=40)
    plt.close(fig)
    (report / "data").mkdir()
    (report / "data" / "points.csv").write_text("x,y\n1,1\n")
    (report / "demo.qmd").write_text(HABITS_PAGE)
    plan = load_plan(demo_project / "journal.yml")
    run_plan(
        RunRequest.for_plan(plan, profile="default", console=Console(quiet=True)),
        ResultsStore(demo_project / "results"),
    )
    return demo_project


@pytest.mark.slow
def test_quarto_habits_reach_the_site_and_the_pdf(habits_project: Path, browser) -> None:
    project = Project(habits_project)
    render_journal(project)
    build_outputs(project, engine="pandoc", console=Console(quiet=True))
    site = project.site_dir
    assert (site / "diagram.png").is_file() and (site / "data" / "points.csv").is_file()

    with serve(site) as base:
        page = browser.new_page()
        page.goto(f"{base}/demo.html")
        links = page.eval_on_selector_all(
            "main a.quarto-xref", "nodes => nodes.map(n => [n.textContent, n.getAttribute('href')])"
        )
        assert links == [
            ["Equation\u00a01", "#eq-square"],
            ["Figure\u00a01", "#fig-diagram"],
            ["Figure\u00a02", "#fig-demo-plot"],
            ["Table\u00a01", "#tbl-demo-squares"],
            ["Method", "#sec-method"],
        ]
        for _text, href in links:  # each link lands on the numbered thing it names
            assert page.locator(href).count() == 1
        assert page.inner_text("#fig-demo-plot figcaption").startswith("Figure 2: A line")
        assert page.inner_text("#tbl-demo-squares caption").startswith("Table 1:")
        # text the engine writes is Markdown: its code is code, not escaped backticks
        assert page.inner_text("main code >> text=familywise: holm") == "familywise: holm"
        width = page.eval_on_selector("#fig-diagram img", "img => img.naturalWidth")
        assert width > 0  # the author's own image was published and loads
        page.close()

    pdf = subprocess.run(["pdftotext", str(site / "journal.pdf"), "-"], capture_output=True, text=True).stdout
    pdf = " ".join(pdf.split())
    assert "The model is Equation 1, drawn in Figure 1; Figure 2 shows a run and Table 1 its numbers" in pdf
    assert "Figure 1: How the square is made" in pdf and "Table 1:" in pdf
    images = subprocess.run(["pdfimages", "-list", str(site / "journal.pdf")], capture_output=True, text=True)
    assert len(images.stdout.splitlines()) - 2 >= 2  # the author's diagram and the run's plot


@pytest.mark.slow
def test_an_unresolved_reference_stops_the_render_before_pandoc_and_keeps_the_last_build(
    habits_project: Path,
) -> None:
    project = Project(habits_project)
    render_journal(project)
    before = (project.build_dir / "demo.qmd").read_text()
    page = habits_project / "report" / "demo.qmd"
    page.write_text(page.read_text().replace("@sec-method says", "@sec-methods says"))
    with pytest.raises(RenderError, match=r"report/demo.qmd:8: @sec-methods refers to no section"):
        render_journal(project)
    assert (project.build_dir / "demo.qmd").read_text() == before


@pytest.mark.slow
def test_a_figure_placed_twice_asks_for_a_label(habits_project: Path) -> None:
    page = habits_project / "report" / "demo.qmd"
    twice = '{{ figure("demo/squares", "plot", x=2.0) }}\n'
    page.write_text(page.read_text() + "\n" + twice)
    with pytest.raises(
        RenderError, match=r"demo.qmd:\d+: #fig-demo-plot is already placed on demo.qmd.*label="
    ):
        render_journal(Project(habits_project))
    page.write_text(page.read_text().replace(twice, twice.replace("x=2.0", 'x=2.0, label="fig-plot-two"')))
    render_journal(Project(habits_project))
    assert "{#fig-plot-two" in (Project(habits_project).build_dir / "demo.qmd").read_text()


def test_a_journal_without_a_new_template_uses_the_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("mine")
    project = Project(tmp_path)
    assert project.template("page.html") == tmp_path / "templates" / "page.html"
    shipped = project.template("crossref.lua")  # a journal made before the filter existed
    assert shipped != tmp_path / "templates" / "crossref.lua"
    assert "Quarto cross-references" in shipped.read_text()


# -- what pages point at ---------------------------------------------------------------------


def test_missing_images_dead_links_and_unknown_citations_are_all_reported_at_their_lines() -> None:
    from labjournal.render.crossref import check_targets

    page = (
        "---\ntitle: T\nnocite: '@*'\n---\n\n![Setup](img/aparatus.png)\n\nSee [the data](raw.csv), "
        "[lab 2](lab02.html#fig-x), [web](https://example.org) and `[code](x.csv)`.\n\n"
        "As @hook1678 and @smith2020 say; mail me@example.org.\n"
    )
    available = {"img/apparatus.png", "data.csv", "lab02.html", "lab02.qmd"}
    with pytest.raises(RenderError) as caught:
        check_targets([("a.qmd", page, page, "report/a.qmd")], available, {"smith2020"}, "references.bib")
    assert str(caught.value).splitlines() == [
        "report/a.qmd:6: the image 'img/aparatus.png' is not a file of report/ nor a page of the journal",
        "report/a.qmd:8: the link 'raw.csv' is not a file of report/ nor a page of the journal",
        "report/a.qmd:10: @hook1678 is not a key of references.bib",
    ]


def test_several_references_per_page_are_reported_at_once() -> None:
    with pytest.raises(RenderError) as caught:
        _check(("a.qmd", "@fig-one\n\n@tbl-two\n"))
    assert [line.split(":")[1] for line in str(caught.value).splitlines()] == ["1", "3"]


def test_the_pdf_keeps_one_bibliography_and_links_labels_on_other_pages_to_themselves() -> None:
    from labjournal.build.combined import one_bibliography, pdf_links

    # A lab's refs div leaves with its heading; the References page (nothing else on it) keeps its
    # own div and is the one chapter of references.
    lab = "Text [@a].\n\n## References {.unnumbered}\n\n::: {#refs}\n:::\n\nAfter."
    references = "\n:::: {#refs .small}\n::::\n"
    assert one_bibliography([lab, references, "end"]) == [
        "Text [@a].\n\nAfter.",
        references.strip() + "\n",
        "end",
        "",
    ]
    # No References page: a "References" chapter ends the PDF when the journal cites or asked for
    # references anywhere, and nothing otherwise.
    *bodies, end = one_bibliography([lab, "end"])
    assert bodies == ["Text [@a].\n\nAfter.", "end"] and end.startswith("\n# References {#references}")
    assert one_bibliography(["Text [@a].", "end"], cites=True)[-1] == end
    assert one_bibliography(["Text.", "end"], cites=False) == ["Text.", "end", ""]
    linked = pdf_links(
        "[Figure](lab02.html#fig-x), [there](lab02.html#method), [csv](d.csv)", "", {"lab02.html"}
    )
    assert linked == "[Figure](#fig-x), [there](#page-lab02), csv"
