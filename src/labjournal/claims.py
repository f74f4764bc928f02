"""Experimental claims of the journal, checked against the results.

`report/claims.yml` declares each claim once: the lab, the sentence the prose states, and an
expectation about the results; the page places `{{ claim("id") }}` next to that sentence.

    claims:
      lab02-dropout-overfitting:
        lab: lab02
        sentence: Dropout 0.5 reduces overfitting compared with 0.2, but lowers accuracy.
        figure: lab02/summary/dropout_effect        # optional: the figure behind it
        expect:
          all:
            - less: {ref: lab02/dropout, metric: generalisation_gap, at: {dropout: 0.5}, than: {dropout: 0.2}}
            - less: {ref: lab02/dropout, metric: val_accuracy, at: {dropout: 0.5}, than: {dropout: 0.2}}

Expectations: `less` / `greater` (two grid points on one metric), `trend` (monotone `up` or
`down` over the ordered values of one parameter, `at` fixing the others), and `all` (a
conjunction). `over: [fold]` pairs folds as well as seeds.

Evaluation pairs the two points' runs by seed (and `over` values) and takes the differences
`at - than`. Their mean gets a two-sided 95 % Student-t interval (`scipy.stats.t`): the claim is
**supported** when the interval lies entirely on the expected side of zero, **contradicted** when it
lies entirely on the other side, and **inconclusive** otherwise or with fewer than two pairs. A
trend is a chain of such comparisons between neighbouring values; a conjunction (and a trend) is
supported when every part is, contradicted when any part is, inconclusive otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError
from scipy import stats

from labjournal.errors import LabjournalError
from labjournal.results import ResultLookupError, Results, canonical_json, split_ref

CLAIMS_FILE = "claims.yml"  # in report/
SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
CONFIDENCE = 0.95


class ClaimError(LabjournalError, ValueError):
    """A claims file or a claim that cannot be evaluated; the message names the claim."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Comparison(_Strict):
    ref: str
    metric: str
    at: dict[str, JsonValue]
    than: dict[str, JsonValue]
    over: list[str] = Field(default_factory=list)


class Trend(_Strict):
    ref: str
    metric: str
    param: str
    direction: Literal["up", "down"]
    at: dict[str, JsonValue] = Field(default_factory=dict)
    over: list[str] = Field(default_factory=list)


class Expectation(_Strict):
    less: Comparison | None = None
    greater: Comparison | None = None
    trend: Trend | None = None
    all: list[Expectation] | None = None

    def kind(self) -> str:
        given = [name for name in ("less", "greater", "trend", "all") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of less, greater, trend, all (got {', '.join(given) or 'none'})"
            )
        return given[0]


Expectation.model_rebuild()


class Claim(_Strict):
    lab: str
    sentence: str
    expect: Expectation
    figure: str | None = None


class ClaimsFile(_Strict):
    claims: dict[str, Claim]


def load_claims(path: str | Path) -> dict[str, Claim]:
    """Read and validate the claims file; a missing file means no claims."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {"claims": {}}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ClaimError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    try:
        parsed = ClaimsFile.model_validate(raw)
        for claim_id, claim in parsed.claims.items():
            _check_shape(claim.expect, f"claims.{claim_id}.expect")
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise ClaimError(f"{path}: {place}: {first['msg']}") from None
    except ValueError as exc:
        raise ClaimError(f"{path}: {exc}") from None
    return parsed.claims


def _check_shape(expectation: Expectation, place: str) -> None:
    try:
        kind = expectation.kind()
    except ValueError as exc:
        raise ValueError(f"{place}: {exc}") from None
    if kind == "all":
        for i, part in enumerate(expectation.all or []):
            _check_shape(part, f"{place}.all[{i}]")


# --------------------------------------------------------------------------------------------
# Evaluation


@dataclass
class Evidence:
    """One paired comparison: the differences `at - than` over seeds (and folds)."""

    description: str
    expected: Literal["negative", "positive"]
    differences: list[float]
    ref: str
    runs: list[dict[str, Any]] = field(default_factory=list)  # the index rows compared

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def mean(self) -> float:
        return sum(self.differences) / self.n if self.n else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        if self.n < 2:
            return (math.nan, math.nan)
        sem = stats.sem(self.differences)
        if sem == 0:  # identical differences on every seed: no spread to widen the interval
            return (self.mean, self.mean)
        low, high = stats.t.interval(CONFIDENCE, self.n - 1, loc=self.mean, scale=sem)
        return (float(low), float(high))

    @property
    def verdict(self) -> str:
        low, high = self.interval
        if self.n < 2 or math.isnan(low):
            return INCONCLUSIVE
        below, above = high < 0, low > 0
        if (below and self.expected == "negative") or (above and self.expected == "positive"):
            return SUPPORTED
        if below or above:
            return CONTRADICTED
        return INCONCLUSIVE

    def summary(self) -> str:
        low, high = self.interval
        interval = "no interval" if math.isnan(low) else f"95% CI [{_g(low)}, {_g(high)}]"
        sign = "< 0" if self.expected == "negative" else "> 0"
        return f"{self.description}: Δ = {_g(self.mean)} ({interval}, n = {self.n}; expected {sign})"


@dataclass
class Verdict:
    claim_id: str
    claim: Claim
    verdict: str
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def refs(self) -> list[str]:
        return sorted({e.ref for e in self.evidence})


def _g(value: float) -> str:
    return f"{value:.3g}"


def combine(verdicts: list[str]) -> str:
    if verdicts and all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    if any(v == CONTRADICTED for v in verdicts):
        return CONTRADICTED
    return INCONCLUSIVE


def _replicates(
    results: Results, ref: str, metric: str, point: dict[str, Any], over: list[str]
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    lab, experiment = split_ref(ref)
    rows = results.point_rows(lab, experiment, over=over, **point)
    values = {}
    for row in rows:
        if metric not in row.get("metrics", {}):
            known = ", ".join(sorted(row.get("metrics", {}))) or "none"
            raise ResultLookupError(f"{ref}: no metric '{metric}' (the runs record: {known})")
        value = row["metrics"][metric]
        if value is not None:
            values[canonical_json([row["seed"], *(row["params"].get(name) for name in over)])] = float(value)
    return values, rows


def _compare(
    results: Results, ref: str, metric: str, at: dict, than: dict, over: list[str], expected: str
) -> Evidence:
    first, first_rows = _replicates(results, ref, metric, at, over)
    second, second_rows = _replicates(results, ref, metric, than, over)
    paired = sorted(set(first) & set(second))
    describe = lambda point: ", ".join(f"{k} {v}" for k, v in point.items())  # noqa: E731
    return Evidence(
        description=f"{metric} at {describe(at)} − at {describe(than)}",
        expected=expected,  # type: ignore[arg-type]
        differences=[first[key] - second[key] for key in paired],
        ref=ref,
        runs=first_rows + second_rows,
    )


def _evaluate(results: Results, expectation: Expectation) -> tuple[str, list[Evidence]]:
    kind = expectation.kind()
    if kind in ("less", "greater"):
        c: Comparison = getattr(expectation, kind)
        evidence = _compare(
            results, c.ref, c.metric, c.at, c.than, c.over, "negative" if kind == "less" else "positive"
        )
        return evidence.verdict, [evidence]
    if kind == "trend":
        t = expectation.trend
        assert t is not None
        lab, experiment = split_ref(t.ref)
        values = sorted(
            {
                p[t.param]
                for p in results.grid_points(lab, experiment)
                if t.param in p and all(p.get(k) == v for k, v in t.at.items())
            }
        )
        if len(values) < 2:
            raise ResultLookupError(f"{t.ref}: fewer than two values of '{t.param}' to form a trend")
        expected = "positive" if t.direction == "up" else "negative"
        steps = [
            _compare(
                results, t.ref, t.metric, {**t.at, t.param: high}, {**t.at, t.param: low}, t.over, expected
            )
            for low, high in zip(values, values[1:], strict=False)
        ]
        return combine([s.verdict for s in steps]), steps
    parts = [_evaluate(results, part) for part in expectation.all or []]
    return combine([verdict for verdict, _ in parts]), [e for _, evidence in parts for e in evidence]


def evaluate_claim(results: Results, claim_id: str, claim: Claim) -> Verdict:
    try:
        verdict, evidence = _evaluate(results, claim.expect)
    except ResultLookupError as exc:
        raise ClaimError(f"claim '{claim_id}': {exc}") from None
    return Verdict(claim_id, claim, verdict, evidence)


def evaluate_all(results: Results, claims: dict[str, Claim]) -> list[Verdict]:
    return [evaluate_claim(results, claim_id, claim) for claim_id, claim in claims.items()]
