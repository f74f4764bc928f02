"""End to end: `labjournal report --profile quick` on a copy of this repository's journal.

Runs the real notebooks of all three labs on the offline data (the Fashion-MNIST sample and the
Austin Animal Center outcomes), renders, builds the site and the PDF with the built-in engine, then
checks what a reader would get.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest
import yaml
from conftest import REPO, serve
from PIL import Image
from pypdf import PdfReader

from labjournal.render.formatting import rounded

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROJECT_FILES = ("journal.yml", "_quarto.yml", "experiments", "report", "templates")


def _report(project: Path, data: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABJOURNAL_DATA": str(data), "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "labjournal.cli",
        "report",
        "--profile",
        "quick",
        "--engine",
        "pandoc",
        *extra,
    ]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def reported(tmp_path_factory, offline_data: Path) -> tuple[Path, subprocess.CompletedProcess]:
    project = tmp_path_factory.mktemp("e2e") / "journal"
    project.mkdir()
    for name in PROJECT_FILES:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, project / name)
    completed = _report(project, offline_data)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return project, completed


PAGES = ("index", "lab01", "lab02", "lab03", "conclusion", "claims", "references")
SECTIONS = (
    "Summary of Key Learnings",
    "Insights &amp; Understanding",
    "Challenges Encountered",
    "Application &amp; Relevance",
    "Code and Experimentation",
)


def _page_text(path: Path) -> str:
    """A page with its whitespace normalised: pandoc wraps the HTML text wherever it likes."""
    return " ".join(path.read_text(encoding="utf-8").split())


def _pct(value: float) -> str:
    """As the pages show a percentage: one decimal, rounded as labjournal.render.formatting rounds."""
    return f"{rounded(value, 1, percent=True)}%"


def _verdicts(project: Path, data: Path) -> dict[str, str]:
    """Every claim's verdict as `labjournal check --json` judges it from the store."""
    env = {**os.environ, "LABJOURNAL_DATA": str(data)}
    command = [sys.executable, "-m", "labjournal.cli", "check", "--json", "--profile", "quick"]
    completed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    return {claim["id"]: claim["verdict"] for claim in json.loads(completed.stdout)["claims"]}


def test_every_page_of_the_site_says_what_its_page_must_say(reported, offline_data: Path) -> None:
    """Each page of the sidebar exists with its title and the sidebar marking it, no template
    syntax left in it, and what it is there to say: the data and profile behind the build, the
    five sections, figures whose images exist and claims with the verdicts `check` gives, the
    values of the results, every reference."""
    project, _ = reported
    site = project / "_site-quick"
    quarto = yaml.safe_load((project / "_quarto.yml").read_text())
    sidebar = quarto["website"]["sidebar"]["contents"]
    site_title = escape(quarto["website"]["title"], quote=False)
    assert [Path(entry["href"]).stem for entry in sidebar] == list(PAGES)
    pages = {}
    for entry in sidebar:
        name = Path(entry["href"]).stem
        html = pages[name] = _page_text(site / f"{name}.html")
        front = (project / "report" / entry["href"]).read_text().split("---")[1]
        title = escape(yaml.safe_load(front)["title"], quote=False)
        assert f"<title>{title} – {site_title}</title>" in html, name
        assert f'<h1 class="title">{title}</h1>' in html, name
        for other in sidebar:
            current = ' aria-current="page"' if other is entry else ""
            text = escape(other["text"], quote=False)
            link = f'<a href="{Path(other["href"]).stem}.html"{current}>{text}</a>'
            assert link in html, (name, link)
        assert "{{" not in html and "{%" not in html, f"{name}: a template expression was left unrendered"
        assert "Built from the <strong>quick</strong> profile" in html, name  # not the journal to submit

    index = json.loads((project / "results" / "index.quick.json").read_text())
    assert index["data"], "the index names the data behind the runs"
    for data_name, source in index["data"].items():
        assert (
            f"<strong>{data_name}</strong>: {escape(source['description'], quote=False)} "
            f"(variant <em>{source['variant']}</em>, content fingerprint <code>{source['fingerprint'][:12]}</code>)"
        ) in pages["index"], data_name

    verdicts = _verdicts(project, offline_data)
    claims = yaml.safe_load((project / "report" / "claims.yml").read_text())["claims"]
    assert set(verdicts) == set(claims)
    sections = pages["claims"].split('<section id="claims-')[1:]  # one per claim, in the page's order
    assert len(sections) == len(claims)
    for lab in ("lab01", "lab02", "lab03"):
        html = pages[lab]
        for heading in SECTIONS:
            assert f"<h2>{heading}</h2>" in html, (lab, heading)
        images = re.findall(r'<figure id="fig-[^"]+">\s*<img src="([^"]+)"', html)
        assert images, f"{lab} places no figure"
        for image in images:
            assert (site / image).is_file(), (lab, image)
        placed = [claim_id for claim_id, claim in claims.items() if claim["lab"] == lab]
        assert placed, lab
        for claim_id in placed:
            verdict = verdicts[claim_id]
            badge = f'<span id="claim-{claim_id}" class="claim-badge claim-{verdict}">{verdict}</span>'
            assert badge in html, (lab, claim_id)
            (section,) = [s for s in sections if f'href="{lab}.html#claim-{claim_id}"' in s]
            assert f'<span class="claim-badge claim-{verdict}">' in section.split("</p>")[0]

    # The conclusion's numbers are the results': each computed here from the index.
    runs = [row for row in index["runs"] if row["status"] == "ok"]

    def values(lab: str, experiment: str) -> list[dict]:
        return [row for row in runs if (row["lab"], row["experiment"]) == (lab, experiment)]

    conclusion = pages["conclusion"]
    top01 = max(r["metrics"]["test_accuracy"] for r in values("lab01", "lr_batch"))
    assert f"reached {_pct(top01)} (n = 1) test accuracy" in conclusion
    chosen = max(
        (r for experiment in ("dropout", "optimizer", "depth") for r in values("lab02", experiment)),
        key=lambda row: row["metrics"]["val_accuracy"],
    )
    assert f"reached {_pct(chosen['metrics']['test_accuracy'])} (n = 1) on the test set" in conclusion
    folds = values("lab03", "cross_validation")
    network, linear = (
        _mean_sd([r["metrics"][f"{prefix}balanced_accuracy"] for r in folds]) for prefix in ("", "logreg_")
    )
    assert (
        f"the network reached {_pct(network[0])} ± {_pct(network[1])} (n = {len(folds)}) balanced accuracy "
        f"over {len(folds)} folds, against {_pct(linear[0])} ± {_pct(linear[1])} (n = {len(folds)}) "
        "for logistic regression"
    ) in conclusion

    keys = re.findall(r"^@\w+\{([^,]+),", (project / "report" / "references.bib").read_text(), flags=re.M)
    assert len(keys) >= 5
    for key in keys:  # `nocite: "@*"`: every entry of the bibliography, cited or not
        assert f'<div id="ref-{key}" class="csl-entry"' in pages["references"], key


def test_metrics_from_the_index_appear_formatted_in_the_html(reported) -> None:
    project, _ = reported
    index = json.loads((project / "results" / "index.quick.json").read_text())
    assert index["profile"] == "quick" and all(row["status"] == "ok" for row in index["runs"])
    row = next(
        r for r in index["runs"] if r["experiment"] == "train_size" and r["params"]["train_fraction"] == 1.0
    )
    accuracy = _pct(row["metrics"]["test_accuracy"])
    html = _page_text(project / "_site-quick" / "lab01.html")  # as pandoc wrapped it, unwrapped
    assert f"it was {accuracy} (n = 1)" in html
    assert "Fashion-MNIST offline sample (3,443 train / 1,000 test)" in html  # the data variant is stated
    assert "Fashion-MNIST offline sample" in _page_text(project / "_site-quick" / "index.html")


def _mean_sd(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
    return mean, sd


def test_lab02_and_lab03_pages_state_their_data_and_results(reported) -> None:
    project, _ = reported
    runs = json.loads((project / "results" / "index.quick.json").read_text())["runs"]
    # Whitespace normalised: pandoc wraps the HTML text wherever it likes.
    lab02 = " ".join((project / "_site-quick" / "lab02.html").read_text().split())
    lab03 = " ".join((project / "_site-quick" / "lab03.html").read_text().split())
    assert "Fashion-MNIST offline sample (3,443 train / 1,000 test)" in lab02
    assert "Austin Animal Center outcomes, offline copy (22,810 rows" in lab03
    assert "Experiments not run yet" not in lab02 + lab03
    for heading in (
        "Summary of Key Learnings",
        "Insights &amp; Understanding",
        "Challenges Encountered",
        "Application &amp; Relevance",
        "Code and Experimentation",
    ):
        assert heading in lab02 and heading in lab03, heading

    dropout = next(
        r
        for r in runs
        if r["lab"] == "lab02" and r["experiment"] == "dropout" and r["params"]["dropout"] == 0.5
    )
    assert f"with dropout 0.5 it was {_pct(dropout['metrics']['generalisation_gap'])} (n = 1)" in lab02

    folds = [r for r in runs if r["lab"] == "lab03" and r["experiment"] == "cross_validation"]
    for prefix in ("", "logreg_"):
        mean, sd = _mean_sd([r["metrics"][f"{prefix}balanced_accuracy"] for r in folds])
        assert f"{_pct(mean)} ± {_pct(sd)} (n = {len(folds)})" in lab03, prefix
    assert "logistic regression" in lab03 and "majority class" in lab03  # the baseline rows


@pytest.mark.parametrize(
    "page, figures",
    [
        ("lab02", ["curves_dropout", "dropout_effect", "optimizers", "confusion_best", "sample_predictions"]),
        (
            "lab03",
            [
                "class_balance",
                "cv_folds",
                "confusion_cv",
                "class_weights",
                "metric_vs_batch_size",
                "convergence_batch_size",
                "curves_batch_size",
            ],
        ),
    ],
)
def test_lab_pages_place_their_figures(reported, page: str, figures: list[str]) -> None:
    project, _ = reported
    placed = json.loads((project / "_build-quick" / "manifest.json").read_text())["figures"]
    on_page = {figure["name"] for figure in placed if figure["page"] == f"{page}.qmd"}
    assert set(figures) <= on_page
    html = (project / "_site-quick" / f"{page}.html").read_text()
    for figure in placed:
        if figure["page"] == f"{page}.qmd":
            assert figure["path"] in html


def test_every_referenced_figure_exists_is_a_png_and_has_alt_text(reported) -> None:
    project, _ = reported
    site = project / "_site-quick"
    images = []
    for page in site.glob("*.html"):
        html = page.read_text()
        for tag in re.findall(r"<img [^>]*>", html):
            source = re.search(r'src="([^"]+)"', tag).group(1)
            assert 'alt="' in tag and 'alt=""' not in tag, tag
            images.append(source)
            with Image.open(site / source) as image:
                image.verify()
                assert image.format == "PNG"
    placed = json.loads((project / "_build-quick" / "manifest.json").read_text())["figures"]
    forests = [source for source in images if source.startswith("figures/claims/")]  # one per claim
    assert len(images) - len(forests) == len(placed) >= 7 and forests


def test_the_pdf_has_pages_headings_and_every_site_figure(reported) -> None:
    project, _ = reported
    reader = PdfReader(str(project / "_site-quick" / "journal.pdf"))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 8
    for heading in (
        "Contents",
        "Introduction",
        "Lab 01",
        "Summary of Key Learnings",
        "Insights & Understanding",
        "Challenges Encountered",
        "Application & Relevance",
        "Code and Experimentation",
        "Lab 02",
        "Lab 03",
        "Conclusion",
        "References",
    ):
        assert heading in text, heading
    site_figures = {
        re.search(r'src="([^"]+)"', tag).group(1)
        for page in ("lab01", "lab02", "lab03")
        for tag in re.findall(r"<img [^>]*>", (project / "_site-quick" / f"{page}.html").read_text())
    }
    pdf_images = sum(len(page.images) for page in reader.pages)
    assert pdf_images >= len(site_figures)


def test_a_second_report_executes_nothing(reported, offline_data: Path) -> None:
    project, _ = reported
    again = _report(project, offline_data)
    assert again.returncode == 0, again.stderr
    assert "Nothing changed since the last report" in again.stderr  # and so nothing ran
    forced_past_the_stamp = _report(
        project, offline_data, "--timeout", "900"
    )  # another option: the full path
    assert (
        "Nothing to execute" in forced_past_the_stamp.stderr and " 0 executed" in forced_past_the_stamp.stderr
    )


def test_claims_show_verdict_badges_on_their_pages_and_the_claims_page(reported) -> None:
    project, _ = reported
    claims = yaml.safe_load((project / "report" / "claims.yml").read_text())["claims"]
    table = " ".join((project / "_site-quick" / "claims.html").read_text().split())
    for claim_id, claim in claims.items():
        page = " ".join((project / "_site-quick" / f"{claim['lab']}.html").read_text().split())
        badge = re.search(rf'<span id="claim-{claim_id}" class="claim-badge claim-(\w+)">(\w+)</span>', page)
        assert badge, claim_id
        assert badge.group(1) == badge.group(2) in ("supported", "contradicted", "negligible", "inconclusive")
        assert claim["sentence"].split(" (")[0][:40] in table, claim_id
        assert f'href="{claim["lab"]}.html#claim-{claim_id}"' in table, claim_id
    # The quick profile has one seed: every comparison has n = 1 and no interval.
    assert "n = 1" in table and "no interval" in table
    text = "\n".join(
        page.extract_text() for page in PdfReader(str(project / "_site-quick" / "journal.pdf")).pages
    )
    assert "Claims" in text and "INCONCLUSIVE" in text  # the badge is drawn in the PDF too


def test_check_reads_the_store_and_runs_nothing(reported, offline_data: Path) -> None:
    project, _ = reported
    before = sorted(p.name for p in (project / "results" / "runs").rglob("run.json"))
    env = {**os.environ, "LABJOURNAL_DATA": str(offline_data), "COLUMNS": "400"}  # no wrapped cells
    completed = subprocess.run(
        [sys.executable, "-m", "labjournal.cli", "check", "--profile", "quick"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    claims = yaml.safe_load((project / "report" / "claims.yml").read_text())["claims"]
    assert completed.returncode == 0, completed.stderr  # one seed: inconclusive, never contradicted
    assert (
        f"0 supported, 0 partly-supported, 0 contradicted, 0 negligible, {len(claims)} inconclusive"
        in completed.stdout
    )
    assert "no seeds were added for it (run --until-decided)" in completed.stdout
    strict = subprocess.run(
        [sys.executable, "-m", "labjournal.cli", "check", "--strict", "--profile", "quick"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert strict.returncode == 1 and "not supported" in strict.stderr
    assert sorted(p.name for p in (project / "results" / "runs").rglob("run.json")) == before


def test_every_figure_and_table_links_to_its_executed_notebook(reported) -> None:
    project, _ = reported
    site = project / "_site-quick"
    commit = (
        json.loads((project / "results" / "index.quick.json").read_text())["project_commit"] or "uncommitted"
    )
    for page in ("lab01", "lab02", "lab03"):
        html = (site / f"{page}.html").read_text()
        links = set(re.findall(r'href="(runs/[0-9a-f]{16}\.html)"', html))
        assert links, page
        for link in links:
            notebook = (site / link).read_text()
            assert "jp-Notebook" in notebook or "jp-Cell" in notebook, link  # nbconvert's HTML
        for figure in re.findall(r"<figure.*?</figure>", html, flags=re.DOTALL):
            assert re.search(r'href="runs/[0-9a-f]{16}\.html"', figure), figure[:200]
            assert f"Project commit {commit}" in " ".join(figure.split())
        for caption in re.findall(r"<caption>.*?</caption>", html, flags=re.DOTALL):
            assert re.search(r'href="runs/[0-9a-f]{16}\.html"', caption), caption[:200]
            assert f"Project commit {commit}" in " ".join(caption.split())
    claims = (site / "claims.html").read_text()
    for link in set(re.findall(r'href="(runs/[0-9a-f]{16}\.html)"', claims)):
        assert (site / link).exists(), link  # the runs behind each claim


def _internal_links(page) -> list[str]:
    return page.eval_on_selector_all(
        "a[href]",
        "links => links.map(a => a.getAttribute('href'))"
        ".filter(h => h && !h.startsWith('#') && !/^[a-z]+:/i.test(h))",
    )


def test_the_site_in_a_real_browser(reported, browser, tmp_path: Path) -> None:
    project, _ = reported
    site = project / "_site-quick"
    # Screenshots go to $LABJOURNAL_ARTIFACTS (a folder CI may keep) or the test's own folder,
    # never into the repository.
    shots = Path(os.environ.get("LABJOURNAL_ARTIFACTS") or tmp_path) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with serve(site) as base:
        context = browser.new_context()
        page = context.new_page()
        problems: list[str] = []
        page.on(
            "console",
            lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        checked: set[str] = set()
        for html in sorted(site.glob("*.html")):
            response = page.goto(f"{base}/{html.name}")
            assert response is not None and response.status == 200, html.name
            images = page.eval_on_selector_all(
                "img",
                "imgs => imgs.map(i => [i.getAttribute('src'), i.complete && i.naturalWidth, i.getAttribute('alt')])",
            )
            for source, width, alt in images:
                assert width and width > 0, f"{html.name}: image {source} did not load"
                assert alt and alt.strip(), f"{html.name}: image {source} has no alt text"
            levels = page.eval_on_selector_all(
                "main h1, main h2, main h3, main h4, main h5, main h6", "hs => hs.map(h => +h.tagName[1])"
            )
            for before, after in zip(levels, levels[1:], strict=False):
                assert after <= before + 1, f"{html.name}: heading level jumps from h{before} to h{after}"
            for link in _internal_links(page):
                target = link.split("#")[0]
                if not target or target in checked:
                    continue
                checked.add(target)
                answer = context.request.get(f"{base}/{target}")
                assert answer.ok, f"{html.name}: link {link} answers {answer.status}"
                if target.endswith(".pdf"):
                    assert answer.headers["content-type"] == "application/pdf"
                    assert answer.body()[:5] == b"%PDF-"
            if html.name in ("index.html", "lab02.html"):
                page.screenshot(path=str(shots / f"{html.stem}.png"), full_page=html.name == "index.html")
        assert any(t.startswith("runs/") for t in checked)  # provenance links were followed
        assert not problems, problems
        # Navigation: from the index, the sidebar reaches every lab page.
        page.goto(f"{base}/index.html")
        for lab in ("lab01", "lab02", "lab03"):
            page.click(f"nav a[href='{lab}.html']")
            assert page.url.endswith(f"/{lab}.html") and page.locator("h1").first.inner_text().startswith(
                "Lab"
            )
        context.close()
    assert (shots / "index.png").stat().st_size > 10_000


def test_search_finds_the_lab02_page_on_a_static_host_below_the_root(reported, browser) -> None:
    """Pagefind's index is built with the site; typing a word of Lab 02 into the search box lists
    the Lab 02 page. The site is served one folder down (as on a project's GitHub Pages), so the
    result links must be relative to the site, not to the host's root."""
    project, _ = reported
    site = project / "_site-quick"
    assert (site / "pagefind" / "pagefind-ui.js").exists()
    assert not any("runs/" in str(p) for p in (site / "pagefind").rglob("*.html"))
    with serve(project) as base:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/_site-quick/index.html")
        page.fill("#search input", "dropout")
        page.wait_for_selector(".pagefind-ui__result-link", timeout=15_000)
        links = page.eval_on_selector_all(
            ".pagefind-ui__result-link", "links => links.map(a => a.getAttribute('href'))"
        )
        assert any(link.split("#")[0].endswith("/_site-quick/lab02.html") for link in links), links
        assert not any("/runs/" in link for link in links), "executed notebooks are not indexed"
        target = next(link for link in links if "lab02.html" in link)
        page.goto(f"{base}{target}" if target.startswith("/") else target)
        assert page.locator("h1").first.inner_text().startswith("Lab 02")
        page.close()
    assert not errors, errors


def test_until_decided_adds_seeds_only_at_the_grid_points_claims_compare(
    reported, offline_data: Path, tmp_path: Path
) -> None:
    """`--until-decided` with a small cap: lab01's undecided claims get a second seed at the
    points they compare, and nowhere else; the added seeds are ordinary, cached runs."""
    source, _ = reported
    project = tmp_path / "journal"
    shutil.copytree(source, project, ignore=shutil.ignore_patterns("_site", "_build", "_site-*", "_build-*"))
    env = {**os.environ, "LABJOURNAL_DATA": str(offline_data), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "labjournal.cli", "run", "--profile", "quick", "--lab", "lab01"]
    completed = subprocess.run(
        [*command, "--until-decided", "--max-seeds", "2"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Until decided, batch 1:" in completed.stderr
    added = json.loads((project / "results" / "extra_seeds.json").read_text())["quick"]
    assert added["design"] == {"looks": [2], "alpha": 0.05, "boundary": "obrien-fleming"}
    compared = set()
    for claim in yaml.safe_load((project / "report" / "claims.yml").read_text())["claims"].values():
        if claim["lab"] == "lab01":
            for part in claim["expect"]["all"]:
                ((kind, spec),) = part.items()
                refs = [spec["at"], spec["than"]] if kind != "trend" else [{}]
                compared |= {(spec["ref"], json.dumps(point, sort_keys=True)) for point in refs}
    for entry in added["points"]:
        assert entry["lab"] == "lab01" and entry["seeds"] == [1]
        ref = f"{entry['lab']}/{entry['experiment']}"
        assert (ref, json.dumps(entry["point"], sort_keys=True)) in compared or (ref, "{}") in compared
    index = json.loads((project / "results" / "index.quick.json").read_text())
    second = [r for r in index["runs"] if r["seed"] == 1]
    assert second and all(r["lab"] == "lab01" and r["status"] == "ok" for r in second)
    assert {r["experiment"] for r in second} <= {"lr_batch", "train_size"}
    lr_batch = {
        (r["params"]["lr"], r["params"]["batch_size"]) for r in second if r["experiment"] == "lr_batch"
    }
    assert lr_batch == {(lr, 64) for lr in (0.005, 0.02, 0.1, 0.5)}  # the points lab01-learning-rate compares
    decisions = json.loads((project / "results" / "decisions.json").read_text())
    assert set(decisions["claims"]) == {"lab01-learning-rate", "lab01-more-data"}
    again = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "Nothing to execute" in again.stderr  # cached, and kept in the plan


def test_executed_notebook_pages_work_with_no_network(reported, browser) -> None:
    """Every request that is not to the local server is blocked; the run pages still show their
    outputs and images, and none of them asked for anything outside."""
    project, _ = reported
    site = project / "_site-quick"
    pages = sorted(p for p in (site / "runs").glob("*.html") if not p.name.startswith("point-"))  # runs
    assert pages
    for page_file in pages:
        text = page_file.read_text()
        assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', text), page_file.name
        assert "cdnjs" not in text and "cdn.jsdelivr" not in text, page_file.name
    outside: list[str] = []
    with serve(site) as base:
        context = browser.new_context()

        def guard(route) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        with_images = 0
        for page_file in pages[:: max(1, len(pages) // 6)]:
            page.goto(f"{base}/runs/{page_file.name}")
            page.wait_for_load_state("load")
            assert page.locator(".jp-OutputArea-output").count() > 0, page_file.name
            sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete && i.naturalWidth)")
            assert all(sizes), f"{page_file.name}: an image did not load"
            with_images += bool(sizes)
        context.close()
    assert with_images, "at least one run page shows a figure"
    assert outside == []
