"""Claims as a reader meets them: parts in the author's words, estimate and interval together with
one minus sign, the deciding part, revisions in words, `check` at 80 columns, the forest plot and
the Claims page (labjournal.claims.words, check_out, revision_words; labjournal.render.forest,
evidence_pages, claim_blocks)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from conftest import index_row, make_demo_project, results_index, write_notebook
from rich.console import Console

from labjournal.claims.check_out import print_table
from labjournal.claims.judge import Claim, ClaimsFile, Verdict, evaluate_all, evaluate_claim
from labjournal.claims.ledger import _revisions, encoding_of
from labjournal.claims.sequential import Design
from labjournal.claims.words import MINUS, view
from labjournal.project import Project
from labjournal.render.forest import forest_figure, forest_png
from labjournal.render.journal import render_journal
from labjournal.results.lookup import Results

GAPS = {
    0.0: [0.20, 0.21, 0.22, 0.20, 0.21],
    0.2: [0.10, 0.12, 0.11, 0.10, 0.12],
    0.5: [0.05, 0.06, 0.06, 0.05, 0.06],
    0.7: [0.05, 0.30, 0.01, 0.25, 0.02],  # all over the place
}
# Epochs to a target, None where never reached within 10 epochs: dropout 0.5 is later on most seeds.
EPOCHS = {0.2: [2, 3, 2, 3, 2, 2], 0.5: [5, None, 6, 4, None, 7]}


def _results() -> Results:
    rows = [
        index_row(
            "lab02",
            "dropout",
            {"dropout": d, "epochs": 10},
            seed,
            {"gap": gap, "epochs_to": EPOCHS.get(d, [None] * 6)[seed]},
            notebook="mlp",
        )
        for d, values in GAPS.items()
        for seed, gap in enumerate(values)
    ]
    return Results(results_index(rows), Path("."))


def _part(kind: str, at: float, than: float, **extra) -> dict:
    return {
        kind: {
            "ref": "lab02/dropout",
            "metric": "gap",
            "margin": 0.01,
            "at": {"dropout": at},
            "than": {"dropout": than},
            **extra,
        }
    }


def _claim(*parts: dict, sentence: str = "s") -> Claim:
    expect = parts[0] if len(parts) == 1 else {"all": list(parts)}
    return Claim.model_validate({"lab": "lab02", "sentence": sentence, "expect": expect})


def _verdict(*parts: dict, claim_id: str = "c") -> Verdict:
    return evaluate_claim(_results(), claim_id, _claim(*parts))


CENSORED = {
    "greater": {
        "ref": "lab02/dropout",
        "metric": "epochs_to",
        "censored_at": "epochs",
        "margin": 1,
        "at": {"dropout": 0.5},
        "than": {"dropout": 0.2},
    }
}
TREND = {
    "trend": {
        "ref": "lab02/dropout",
        "metric": "gap",
        "param": "dropout",
        "direction": "down",
        "margin": 0.01,
    }
}


def test_parts_read_in_the_authors_words_and_fall_back_to_the_names() -> None:
    labelled = _part(
        "less", 0.5, 0.2, label={"metric": "overfitting", "at": "heavy dropout", "than": "light dropout"}
    )
    v = _verdict(labelled, _part("less", 0.0, 0.2), TREND)
    parts = view(v, {"gap": "generalisation gap", "dropout": "dropout rate"}).parts
    assert parts[0].name == "overfitting: heavy dropout vs light dropout"
    assert parts[1].name == "generalisation gap: dropout rate 0.0 vs dropout rate 0.2"
    assert parts[2].name == "generalisation gap over dropout rate"
    plain = view(_verdict(_part("less", 0.0, 0.2), TREND)).parts
    assert [p.name for p in plain] == ["gap: dropout 0.0 vs dropout 0.2", "gap over dropout"]
    only_metric = _part("less", 0.5, 0.2, label="overfitting")
    assert view(_verdict(only_metric)).parts[0].name == "overfitting: dropout 0.5 vs dropout 0.2"


def test_a_label_changes_neither_the_verdict_nor_the_ledgers_encoding() -> None:
    plain = _claim(_part("less", 0.5, 0.2), TREND)
    labelled = _claim(_part("less", 0.5, 0.2, label={"metric": "overfitting"}), TREND)
    settings = ClaimsFile(labels={"gap": "generalisation gap"})
    assert encoding_of(labelled, settings) == encoding_of(plain, ClaimsFile())
    judged = [evaluate_claim(_results(), "c", claim) for claim in (plain, labelled)]
    assert judged[0].verdict == judged[1].verdict and judged[0].label == judged[1].label


def test_the_difference_and_its_interval_are_written_together_with_one_minus_sign() -> None:
    (part,) = view(_verdict(_part("less", 0.5, 0.2))).parts
    assert part.estimate == f"Δ {MINUS}0.054 [{MINUS}0.061, {MINUS}0.047]"
    assert "-" not in part.estimate and "=" not in part.estimate
    assert part.details == "margin ±0.01, expected < 0, n = 5"
    (trend,) = view(_verdict(TREND)).parts
    assert re.fullmatch(
        rf"slope {MINUS}0\.\d+ \[{MINUS}0\.\d+, {MINUS}?0\.\d+\] per unit of dropout", trend.estimate
    )


def test_a_censored_part_shows_orders_never_a_number_of_epochs() -> None:
    (part,) = view(_verdict(CENSORED)).parts
    assert part.kind == "ranks" and part.mean is None and part.interval is None
    assert part.estimate.startswith("later on 5 of 5 seeds, earlier on 0, tied on 0, 2 runs never reached it")
    assert "signed-rank test" in part.estimate and "Δ" not in part.estimate


def test_the_deciding_part_is_the_one_the_verdict_rests_on() -> None:
    contradicted = view(_verdict(_part("less", 0.5, 0.2), _part("less", 0.0, 0.2)))
    assert contradicted.deciding.number == 2 and contradicted.badge() == "contradicted by part 2"
    partly = view(_verdict(_part("less", 0.5, 0.2), _part("less", 0.7, 0.2)))
    assert partly.deciding.number == 2 and partly.badge() == "partly supported; not shown: part 2"
    supported = _verdict(_part("less", 0.5, 0.2), _part("less", 0.2, 0.0))
    weakest = max(range(2), key=lambda i: supported.evidence[i].p_value)
    assert view(supported).deciding.index == weakest and view(supported).badge().startswith("supported")


def _check_output(verdicts: list[Verdict], width: int = 80) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    print_table(verdicts, "default", Design(), "holm", {"gap": "generalisation gap"}, console)
    return buffer.getvalue()


def test_check_prints_one_block_per_claim_that_reads_at_80_columns() -> None:
    claims = {
        "dropout-lowers-the-gap": _claim(
            _part("less", 0.5, 0.2),
            _part("less", 0.0, 0.2),
            sentence="Dropout lowers the generalisation gap at every rate we tried, and heavy dropout most of all.",
        ),
        "dropout-is-steady": _claim(_part("less", 0.5, 0.2), _part("less", 0.7, 0.2), TREND),
        "dropout-slows-training": _claim(CENSORED),
    }
    verdicts = evaluate_all(_results(), ClaimsFile(claims=claims))
    out = _check_output(verdicts)
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert all(line == line.rstrip() for line in lines)
    for v in verdicts:
        shown = view(v, {"gap": "generalisation gap"})
        head = f"{v.claim_id} (lab02): {shown.badge()}"
        assert head in lines, f"{head!r} is not a line of its own"
        deciding = shown.deciding
        assert f"  Deciding part: {deciding.number}, {deciding.name}" in lines
        assert f"  {deciding.number}. {deciding.name} (deciding)" in lines
        joined = " ".join(line.strip() for line in lines)
        for part in shown.parts:  # each part's estimate and verdict on lines of their own, indented
            assert f" {part.number}. {part.name}" in joined
            assert f" {part.estimate}: {part.verdict} " in joined
            assert any(line.startswith("     ") and line.endswith(f": {part.verdict}") for line in lines)
    assert "contradicted by part 2" in out and "┃" not in out and "│" not in out
    counts = [line for line in lines if line.endswith(("not-run", ",")) and line[:1].isdigit()]
    assert counts and all(re.fullmatch(r"(\d+ [a-z-]+, )*\d+ [a-z-]+,?", line) for line in counts), counts


def test_revisions_read_in_words() -> None:
    first = {"less": {"ref": "a/b", "metric": "m", "at": {"lr": 0.02}, "than": {"lr": 0.5}}}
    before = {
        "lab": "l",
        "sentence": "s",
        "expect": {"all": [first, {"greater": {**first["less"]}}]},
        "margins": {},
    }
    after = json.loads(json.dumps(before))
    after["expect"]["all"][1]["greater"]["censored_at"] = "epochs"
    after["expect"]["all"][0]["less"]["at"]["lr"] = 0.005
    after["margins"] = {"m": 1}
    history = [
        {"recorded": "2026-01-01T00:00:00", "encoding": before},
        {
            "recorded": "2026-01-02T00:00:00",
            "encoding": after,
            "revised_after_results": True,
            "changes": "raw",
        },
    ]
    (line,) = _revisions(history)
    assert line.startswith("revised after seeing results on 2026-01-02: ")
    assert "the second part's censoring point was added (none → epochs)" in line
    assert "the first part's lr at its first point was changed (0.02 → 0.005)" in line
    assert "the margin of m in the margins table was added (none → 1)" in line
    assert "expect." not in line and "(none)" not in line


def test_the_forest_plot_has_a_row_per_part_and_no_bar_for_a_censored_part() -> None:
    v = _verdict(_part("less", 0.5, 0.2), CENSORED, _part("less", 0.0, 0.2))
    figure = forest_figure(view(v))
    (ax,) = figure.axes
    bars = [
        line
        for line in ax.get_lines()
        if len(line.get_xdata()) == 2 and line.get_ydata()[0] == line.get_ydata()[1]
    ]
    assert sorted(line.get_ydata()[0] for line in bars) == [0, 2]  # parts 1 and 3, none for part 2
    texts = [t.get_text() for t in ax.texts]
    assert "compared by ranks: no size" in texts
    assert any(t.startswith("2. epochs to") for t in texts) and any("contradicted" in t for t in texts)
    assert forest_png(view(v)) == forest_png(view(v))  # the same bytes: the build sees no change


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = make_demo_project(tmp_path / "p")
    rows = [
        index_row(
            "demo",
            "squares",
            {"x": x},
            seed,
            {"square": x * x + seed * x / 100},
            notebook="square",
            run_dir=f"runs/{x}-{seed}",
            key=f"{int(x)}{seed}" * 8,
        )
        for x in (1.0, 2.0)
        for seed in range(3)
    ]
    for row in rows:
        write_notebook(root / "results" / row["run_dir"] / "notebook.ipynb", "x = 1.0")
    (root / "results" / "index.json").write_text(json.dumps(results_index(rows, profile="default")))
    (root / "report" / "claims.yml").write_text(
        "labels: {square: the square}\nclaims:\n  c:\n    lab: demo\n    sentence: Squares grow.\n"
        "    expect: {greater: {ref: demo/squares, metric: square, margin: 0.01, at: {x: 2.0}, than: {x: 1.0}, label: {at: two, than: one}}}\n"
    )
    (root / "report" / "demo.qmd").write_text("---\ntitle: Demo lab\n---\n\nSquares grow. {{ claim('c') }}\n")
    (root / "report" / "claims.qmd").write_text("---\ntitle: Claims\n---\n\n{{ claims_table() }}\n")
    quarto = root / "_quarto.yml"
    quarto.write_text(quarto.read_text() + "      - claims.qmd\n")
    return root


def test_the_claims_page_opens_with_a_summary_and_links_one_page_per_grid_point(project: Path) -> None:
    out, _ = render_journal(Project(project))
    page = (out / "claims.qmd").read_text()
    assert "| Claim | Verdict | Deciding part | Seeds |" in page
    summary = next(line for line in page.splitlines() if line.startswith("| [DEMO · c](#claims-c)"))
    assert "supported" in summary and "part 1, the square |" in summary and summary.endswith("| 3 |")
    assert (
        "![](figures/claims/c.png){.claim-forest fig-alt=" in page
        and (out / "figures/claims/c.png").read_bytes()[:4] == b"\x89PNG"
    )
    links = re.findall(r"\]\((runs/point-[^)]+\.html)\), 3 seeds", page)
    assert len(links) == 2 and "executed notebooks:" not in page
    listing = (out / links[0]).read_text()
    assert listing.count('href="') == 4 and 'href="../claims.html"' in listing  # back, and its 3 runs
    for key in re.findall(r'href="([0-9a-f]+)\.html"', listing):
        assert (out / "runs" / f"{key}.html").exists()
    assert re.search(r"Δ 3\.0\d* \[", page) and "(deciding)" not in page
    lab = (out / "demo.qmd").read_text()
    assert "the square: two vs one: Δ" in lab.replace("\\", "")


def test_a_part_far_past_its_margin_is_drawn_whole() -> None:
    """A difference 40 margins from zero beside one near zero: both bars lie inside the axis (log
    beyond ±1 margin), so neither is cut to an arrow at the edge."""
    v = _verdict(_part("less", 0.5, 0.0, margin=0.004), _part("less", 0.7, 0.5))  # about −38 and +1.5 margins
    (ax,) = forest_figure(view(v)).axes
    low, high = ax.get_xlim()
    bars = [line for line in ax.get_lines() if len(line.get_xdata()) == 2]
    assert bars and all(low <= x <= high for line in bars for x in line.get_xdata())
    assert all(line.get_marker() not in ("<", ">") for line in ax.get_lines())
    assert ax.get_xscale() == "symlog"
