"""Claims: paired differences over seeds, an interval, a margin and a verdict; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import index_row, make_demo_project, results_index

from labjournal.claims.judge import (
    CONTRADICTED,
    INCONCLUSIVE,
    NEGLIGIBLE,
    PARTLY,
    SUPPORTED,
    Claim,
    ClaimError,
    Verdict,
    evaluate_all,
    evaluate_claim,
    load_claims,
    load_claims_file,
)
from labjournal.cli import main
from labjournal.results.lookup import Results


def _row(dropout: float, seed: int, gap: float, accuracy: float = 0.8) -> dict:
    return index_row(
        "lab02", "dropout", {"dropout": dropout}, seed, {"gap": gap, "accuracy": accuracy}, notebook="mlp"
    )


def _results(gaps: dict[float, list[float]]) -> Results:
    rows = [_row(d, seed, gap) for d, values in gaps.items() for seed, gap in enumerate(values)]
    return Results(results_index(rows), Path("."))


def _claim(expect: dict) -> Claim:
    return Claim.model_validate({"lab": "lab02", "sentence": "s", "expect": expect})


LESS = {
    "less": {
        "ref": "lab02/dropout",
        "metric": "gap",
        "margin": 0.01,
        "at": {"dropout": 0.5},
        "than": {"dropout": 0.2},
    }
}


def test_supported_when_the_interval_is_on_the_expected_side() -> None:
    results = _results({0.2: [0.10, 0.12, 0.11], 0.5: [0.05, 0.06, 0.06]})
    verdict = evaluate_claim(results, "c", _claim(LESS))
    assert verdict.verdict == SUPPORTED
    evidence = verdict.evidence[0]
    assert evidence.differences == pytest.approx([-0.05, -0.06, -0.05])
    low, high = evidence.interval
    assert low < evidence.mean < high < 0
    # the t-interval of scipy: mean ± t(0.975, 2) * sd / sqrt(3)
    assert high - evidence.mean == pytest.approx(4.302653 * 0.0057735 / 3**0.5, rel=1e-3)
    assert "gap at dropout 0.5 − at dropout 0.2: Δ = -0.0533" in evidence.summary()
    assert "n = 3; margin ±0.01; expected < 0" in evidence.summary()


def test_contradicted_when_the_interval_is_on_the_other_side() -> None:
    results = _results({0.2: [0.05, 0.06, 0.05], 0.5: [0.10, 0.12, 0.11]})
    assert evaluate_claim(results, "c", _claim(LESS)).verdict == CONTRADICTED


def test_inconclusive_when_the_interval_straddles_zero() -> None:
    results = _results({0.2: [0.10, 0.05, 0.12], 0.5: [0.08, 0.09, 0.07]})
    assert evaluate_claim(results, "c", _claim(LESS)).verdict == INCONCLUSIVE


def test_a_tie_is_inconclusive_and_prints_no_zero_width_interval() -> None:
    results = _results({0.2: [0.1, 0.2, 0.3], 0.5: [0.1, 0.2, 0.3]})
    verdict = evaluate_claim(results, "c", _claim(LESS))
    assert verdict.verdict == INCONCLUSIVE and verdict.evidence[0].interval is None
    assert "tied on every seed" in verdict.evidence[0].summary()
    assert "[0, 0]" not in verdict.evidence[0].summary()


def test_a_single_seed_is_inconclusive() -> None:
    results = _results({0.2: [0.10], 0.5: [0.01]})
    verdict = evaluate_claim(results, "c", _claim(LESS))
    assert verdict.verdict == INCONCLUSIVE and verdict.evidence[0].n == 1
    assert "no interval" in verdict.evidence[0].summary()


def test_pairs_only_seeds_present_at_both_points() -> None:
    results = _results({0.2: [0.10, 0.12, 0.11], 0.5: [0.05, 0.06]})
    assert evaluate_claim(results, "c", _claim(LESS)).evidence[0].n == 2


def test_trend_and_conjunction() -> None:
    results = _results({0.0: [0.20, 0.21, 0.22], 0.2: [0.10, 0.12, 0.11], 0.5: [0.05, 0.06, 0.06]})
    trend = {"ref": "lab02/dropout", "metric": "gap", "margin": 0.01, "param": "dropout"}
    down = {"trend": {**trend, "direction": "down"}}
    up = {"trend": {**trend, "direction": "up"}}
    verdict = evaluate_claim(results, "c", _claim(down))
    assert verdict.verdict == SUPPORTED and len(verdict.evidence) == 1  # one slope over 0, 0.2, 0.5
    assert "per unit of dropout" in verdict.evidence[0].summary()
    assert evaluate_claim(results, "c", _claim(up)).verdict == CONTRADICTED
    mixed = {"all": [down, {"greater": {**LESS["less"]}}]}
    judged = evaluate_claim(results, "c", _claim(mixed))  # the trend holds, the comparison does not
    assert judged.verdict == CONTRADICTED and [e.verdict for e in judged.evidence] == [
        SUPPORTED,
        CONTRADICTED,
    ]
    assert judged.label == "contradicted: gap (dropout 0.5 vs 0.2)"
    same = {"all": [down, LESS]}
    assert evaluate_claim(results, "c", _claim(same)).verdict == SUPPORTED


def test_a_missing_grid_point_or_metric_names_the_claim_and_what_exists() -> None:
    results = _results({0.2: [0.1, 0.1], 0.5: [0.0, 0.0]})
    wrong_point = {"less": {**LESS["less"], "at": {"dropout": 0.7}}}
    with pytest.raises(
        ClaimError,
        match=r"claim 'dropout-gap'.*no grid point dropout=0.7 \(it has: dropout=0.2; dropout=0.5\)",
    ):
        evaluate_claim(results, "dropout-gap", _claim(wrong_point))
    wrong_metric = {"less": {**LESS["less"], "metric": "gapp"}}
    with pytest.raises(ClaimError, match=r"claim 'x'.*no metric 'gapp' \(the runs record: accuracy, gap\)"):
        evaluate_claim(results, "x", _claim(wrong_metric))


def test_the_claims_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "claims.yml"
    path.write_text(
        "claims:\n  a:\n    lab: lab02\n    sentence: s\n    expect: {less: {ref: lab02/d, metric: m, at: {}, than: {}}, greater: {ref: lab02/d, metric: m, at: {}, than: {}}}\n"
    )
    with pytest.raises(ClaimError, match="claims.a.expect: give exactly one of less, greater, trend, all"):
        load_claims(path)
    path.write_text("claims:\n  a:\n    lab: lab02\n    sentense: s\n")
    with pytest.raises(ClaimError, match=r"claims.yml:2: claims.a.sentence: Field required"):
        load_claims(path)
    path.write_text("claims: [\n")
    with pytest.raises(ClaimError, match=r"claims.yml:2: not valid YAML"):
        load_claims(path)
    path.write_text("claims:\n  a:\n    lab: =\n")
    with pytest.raises(ClaimError, match=r"claims.yml:3: not valid YAML \(this value reads as the YAML tag"):
        load_claims(path)
    assert load_claims(tmp_path / "absent.yml") == {}


def test_check_exit_codes(tmp_path: Path, capsys) -> None:
    project = make_demo_project(tmp_path / "p")
    rows = [_row(0.2, s, g) for s, g in enumerate([0.10, 0.12, 0.11])]
    rows += [_row(0.5, s, g) for s, g in enumerate([0.05, 0.06, 0.06])]
    rows += [_row(0.0, s, g) for s, g in enumerate([0.08, 0.13, 0.09])]
    (project / "results").mkdir()
    index = results_index(rows)
    (project / "results" / "index.json").write_text(json.dumps(index))
    claims = project / "report" / "claims.yml"

    def write(expect: str) -> None:
        claims.write_text(
            f"margins: {{gap: 0.01}}\nclaims:\n  c:\n    lab: lab02\n    sentence: s\n    expect: {expect}\n"
        )

    write("{less: {ref: lab02/dropout, metric: gap, at: {dropout: 0.5}, than: {dropout: 0.2}}}")
    assert main(["--project", str(project), "check"]) == 0
    assert main(["--project", str(project), "check", "--strict"]) == 0
    write(
        "{less: {ref: lab02/dropout, metric: gap, at: {dropout: 0.0}, than: {dropout: 0.2}}}"
    )  # straddles 0
    assert main(["--project", str(project), "check"]) == 0
    assert main(["--project", str(project), "check", "--strict"]) == 1
    write("{greater: {ref: lab02/dropout, metric: gap, at: {dropout: 0.5}, than: {dropout: 0.2}}}")
    assert main(["--project", str(project), "check"]) == 1
    assert "contradicted" in capsys.readouterr().out
    write("{greater: {ref: lab02/dropout, metric: gap, at: {dropout: 0.9}, than: {dropout: 0.2}}}")
    assert main(["--project", str(project), "check"]) == 2


NOISY_CELL = """
from labjournal.kit import record
noise = [0.013, -0.021, 0.034][seed] * x
record.scalar("score", 0.5 + 0.1 * x + noise)
"""


@pytest.mark.slow
def test_check_on_three_executed_seeds_prints_the_exact_interval(tmp_path: Path, capsys) -> None:
    """End to end on real runs with three seeds: the interval `check` prints is the Student-t
    interval of the paired differences, computed here independently."""
    from conftest import write_notebook
    from rich.console import Console
    from scipy import stats

    from labjournal.plan.model import load_plan
    from labjournal.results.store import ResultsStore
    from labjournal.run.request import RunRequest
    from labjournal.run.scheduler import run_plan

    project = make_demo_project(tmp_path / "p")
    write_notebook(project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", NOISY_CELL)
    write_notebook(project / "notebooks" / "summary.ipynb", "label = 'all'", "pass")
    plan_file = project / "journal.yml"
    plan_file.write_text(
        plan_file.read_text().replace("default: {seeds: [0, 1]}", "default: {seeds: [0, 1, 2]}")
    )
    run_plan(
        RunRequest.for_plan(load_plan(plan_file), profile="default", console=Console(quiet=True)),
        ResultsStore(project / "results"),
    )
    (project / "report" / "claims.yml").write_text(
        "claims:\n  c:\n    lab: demo\n    sentence: s\n"
        "    expect: {greater: {ref: demo/squares, metric: score, margin: 0.01, at: {x: 3.0}, than: {x: 1.0}}}\n"
    )
    assert main(["--project", str(project), "check"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    noise = [0.013, -0.021, 0.034]
    differences = [(0.5 + 0.3 + n * 3.0) - (0.5 + 0.1 + n * 1.0) for n in noise]
    mean = sum(differences) / 3
    low, high = stats.t.interval(0.95, 2, loc=mean, scale=stats.sem(differences))
    shown = [f"{x:.2f}".replace("-", "\u2212") for x in (mean, low, high)]  # half-width 0.1 to 0.25
    assert f"Δ {shown[0]} [{shown[1]}, {shown[2]}]: supported margin ±0.01, expected > 0, n = 3" in out
    assert "1 supported, 0 partly-supported, 0 contradicted, 0 negligible, 0 inconclusive" in out
    # The same as JSON on stdout, for CI and for whoever grades a journal.
    assert main(["--project", str(project), "check", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["familywise"] == "holm" and payload["design"]["looks"] == []  # Holm: the default
    (claim,) = payload["claims"]
    assert (claim["id"], claim["verdict"]) == ("c", "supported")
    (part,) = claim["parts"]
    assert (part["verdict"], part["metric"], part["n"], part["method"]) == (
        "supported",
        "score",
        3,
        "paired t",
    )
    assert part["estimate"] == pytest.approx(mean) and part["interval"] == pytest.approx([low, high])
    # `check` never writes the ledger; `run` and `report` record the encoding the first time the
    # claim meets results, and an edit after that as a revision (tests/test_ledger.py).
    from labjournal.pipeline.report import record_claim_encodings
    from labjournal.project import Project

    assert claim["pending"] and not (project / "report" / "claims.ledger.json").exists()
    record_claim_encodings(Project(project), Console(quiet=True))
    ledger = json.loads((project / "report" / "claims.ledger.json").read_text())
    assert len(ledger["c"]) == 1 and "revised_after_results" not in ledger["c"][0]
    claims = project / "report" / "claims.yml"
    claims.write_text(claims.read_text().replace("margin: 0.01", "margin: 0.5"))
    record_claim_encodings(Project(project), Console(quiet=True))
    main(["--project", str(project), "check", "--json"])
    revised = json.loads(capsys.readouterr().out)["claims"][0]["revisions"]
    assert len(revised) == 1 and "revised after seeing results" in revised[0]
    assert "the part's margin was changed (0.01 → 0.5)" in revised[0]


# --------------------------------------------------------------------------------------------
# Labels that never say more than the parts (labjournal.claims.verdicts)


def _mixed(gaps: dict[float, list[float]], *parts: dict) -> Verdict:
    return evaluate_claim(_results(gaps), "c", _claim({"all": list(parts)}))


def _part(kind: str, at: float, than: float, margin: float = 0.01) -> dict:
    return {
        kind: {
            "ref": "lab02/dropout",
            "metric": "gap",
            "margin": margin,
            "at": {"dropout": at},
            "than": {"dropout": than},
        }
    }


GAPS = {
    0.0: [0.20, 0.21, 0.22, 0.20, 0.21],
    0.2: [0.10, 0.12, 0.11, 0.10, 0.12],
    0.3: [0.100, 0.121, 0.109, 0.101, 0.119],  # within 0.002 of dropout 0.2 on every seed
    0.5: [0.05, 0.06, 0.06, 0.05, 0.06],
    0.7: [0.05, 0.30, 0.01, 0.25, 0.02],  # all over the place
}


def test_a_refuted_part_makes_the_claim_contradicted_and_the_badge_names_it(tmp_path: Path, capsys) -> None:
    """A supported part does not soften a refuted one: the claim is contradicted, whichever part
    was decided first (here both), and `check` fails."""
    verdict = _mixed(GAPS, _part("less", 0.5, 0.2), _part("less", 0.0, 0.2))
    assert [e.verdict for e in verdict.evidence] == [SUPPORTED, CONTRADICTED]
    assert verdict.verdict == CONTRADICTED and verdict.decided
    assert verdict.label == "contradicted: gap (dropout 0.0 vs 0.2)"
    project = make_demo_project(tmp_path / "p")
    rows = [_row(d, s, g) for d, values in GAPS.items() for s, g in enumerate(values)]
    (project / "results").mkdir()
    (project / "results" / "index.json").write_text(json.dumps(results_index(rows)))
    parts = "[{less: {ref: lab02/dropout, metric: gap, at: {dropout: 0.5}, than: {dropout: 0.2}}}, {less: {ref: lab02/dropout, metric: gap, at: {dropout: 0.0}, than: {dropout: 0.2}}}]"
    (project / "report" / "claims.yml").write_text(
        f"margins: {{gap: 0.01}}\nclaims:\n  c:\n    lab: lab02\n    sentence: s\n    expect: {{all: {parts}}}\n"
    )
    assert main(["--project", str(project), "check", "--json"]) == 1
    (claim,) = json.loads(capsys.readouterr().out)["claims"]
    assert (claim["verdict"], claim["label"]) == ("contradicted", "contradicted: gap (dropout 0.0 vs 0.2)")


def test_partly_supported_only_beside_negligible_or_open_parts_and_names_them() -> None:
    negligible = _mixed(GAPS, _part("less", 0.5, 0.2), _part("less", 0.3, 0.2, margin=0.05))
    assert [e.verdict for e in negligible.evidence] == [SUPPORTED, NEGLIGIBLE]
    assert negligible.verdict == PARTLY and negligible.decided
    assert negligible.label == "partly supported; negligible: gap (dropout 0.3 vs 0.2)"
    open_part = _mixed(GAPS, _part("less", 0.5, 0.2), _part("less", 0.7, 0.2))
    assert [e.verdict for e in open_part.evidence] == [SUPPORTED, INCONCLUSIVE]
    assert (
        open_part.verdict == PARTLY
        and open_part.label == "partly supported; not shown: gap (dropout 0.7 vs 0.2)"
    )
    # Not settled: the open part may yet be contradicted, so the design keeps adding its seeds.
    assert not open_part.decided and [e for e, _ in open_part.open_parts()] == [open_part.evidence[1]]


def test_a_supported_part_that_may_be_below_the_margin_says_so_on_the_badge() -> None:
    small = _results({0.2: [0.100, 0.110, 0.105], 0.5: [0.095, 0.104, 0.099]})  # Δ ≈ -0.006, tight
    verdict = evaluate_claim(small, "c", _claim({"less": {**LESS["less"], "margin": 0.005}}))
    low, high = verdict.evidence[0].interval
    assert verdict.verdict == SUPPORTED and high > -0.005  # reaches inside the margin
    assert verdict.label == "supported, possibly below the margin"
    clear = evaluate_claim(small, "c", _claim({"less": {**LESS["less"], "margin": 0.001}}))
    assert clear.evidence[0].interval[1] < -0.001 and clear.label == "supported"
    both = _mixed(GAPS, _part("less", 0.5, 0.2, margin=0.06), _part("less", 0.2, 0.0))
    assert both.verdict == SUPPORTED
    assert both.label == "supported, possibly below the margin (gap (dropout 0.5 vs 0.2))"


def test_holm_takes_the_p_value_of_the_part_that_decides_the_verdict() -> None:
    """A claim contradicted by one part is as certain as that part, not as its strongest one
    (which used to give a wrongly contradicted claim an adjusted p-value 100 times too small)."""
    from labjournal.claims.verdicts import claim_p

    gaps = {**GAPS, 0.1: [0.13, 0.15, 0.12, 0.16, 0.13]}  # later than 0.2 by 0.028 ± 0.02
    verdict = _mixed(gaps, _part("less", 0.5, 0.2), _part("less", 0.1, 0.2))
    strong, against = verdict.evidence
    assert verdict.verdict == CONTRADICTED and 0.01 < against.p_value < 0.05
    assert claim_p(CONTRADICTED, verdict.evidence) == pytest.approx(against.p_value)
    assert against.p_value > 100 * strong.p_value


def test_holm_over_the_claims_is_the_default_and_none_is_stated(tmp_path: Path) -> None:
    from labjournal.claims.verdicts import family_sentence

    path = tmp_path / "claims.yml"
    path.write_text("claims: {}\n")
    assert load_claims_file(path).familywise == "holm"
    verdicts = evaluate_all(_results(GAPS), {"c": _claim(LESS)})
    assert verdicts[0].familywise_p is not None and verdicts[0].familywise == "holm"
    path.write_text("familywise: none\nclaims: {}\n")
    assert load_claims_file(path).familywise == "none"
    assert "not corrected as a family" in family_sentence("none")
    assert evaluate_all(_results(GAPS), {"c": _claim(LESS)}, familywise="none")[0].familywise_p is None


# --------------------------------------------------------------------------------------------
# Margins declared, never guessed


CLAIMS_WITHOUT_A_MARGIN = """\
margins:
  "val_*": 0.02
claims:
  a:
    lab: lab02
    sentence: s
    expect: {less: {ref: lab02/dropout, metric: val_gap, at: {dropout: 0.5}, than: {dropout: 0.2}}}
  b:
    lab: lab02
    sentence: s
    expect:
      all:
        - less: {ref: lab02/dropout, metric: gap, margin: 0.01, at: {dropout: 0.5}, than: {dropout: 0.2}}
        - less: {ref: lab02/dropout, metric: accuracy, at: {dropout: 0.5}, than: {dropout: 0.2}}
"""


def test_a_part_without_a_margin_is_an_error_at_its_line_naming_the_three_places(tmp_path: Path) -> None:
    path = tmp_path / "claims.yml"
    path.write_text(CLAIMS_WITHOUT_A_MARGIN)
    with pytest.raises(ClaimError) as caught:
        load_claims(path)
    message = str(caught.value)
    assert "claims.yml:14: claims.b.expect.all[1].less: no margin declared for 'accuracy'" in message
    assert "`margin:` on this part" in message and "`margin:` on the claim" in message
    assert "`margins:` table" in message
    path.write_text(
        CLAIMS_WITHOUT_A_MARGIN.replace(
            "    lab: lab02\n    sentence: s\n    expect:\n",
            "    lab: lab02\n    sentence: s\n    margin: 0.03\n    expect:\n",
        )
    )
    claims = load_claims_file(path)
    assert claims.margins_for(claims.claims["a"]).of(claims.claims["a"].expect.less) == (
        0.02,
        "margins: val_*",
    )
    first, second = (p.less for p in claims.claims["b"].expect.all)
    assert claims.margins_for(claims.claims["b"]).of(first) == (0.01, "declared on this part")
    assert claims.margins_for(claims.claims["b"]).of(second) == (0.03, "declared on the claim")


def test_no_margin_is_guessed_from_the_metric_name_or_the_data() -> None:
    """`val_accuracy_variance` once got 0.01 for containing "accuracy"; other metrics 5 % of the
    observed mean. A part with no declared margin is an error, by construction or not counted."""
    bare = {
        "less": {
            "ref": "lab02/dropout",
            "metric": "accuracy",
            "at": {"dropout": 0.5},
            "than": {"dropout": 0.2},
        }
    }
    with pytest.raises(ClaimError, match="claim 'c'.*no margin declared for 'accuracy'"):
        evaluate_claim(_results(GAPS), "c", _claim(bare))
    built = {"less": {**bare["less"], "by_construction": True}}
    assert evaluate_claim(_results(GAPS), "c", _claim(built)).evidence[0].margin == 0.0
