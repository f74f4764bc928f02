"""`report/claims.yml`: the claims of a journal and their settings, validated with pydantic.
The format is described in `labjournal.claims.judge`.

Margins are declared, never guessed: every counted part takes its margin from the part
(`margin:`), else from its claim (`margin:` beside `expect:`), else from the file's `margins:`
table, by metric name first, then by the first glob pattern that matches (`"*_variance": 0.4`).
A part with none is an error at its line. A part `by_construction` is never counted and needs
none."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, JsonValue, ValidationError, model_validator

from labjournal.errors import ClaimError
from labjournal.records import StrictModel
from labjournal.yamlfile import index_lines, yaml_problem

CLAIMS_FILE = "claims.yml"  # in report/


def claim_line(path: Path, claim_id: str) -> int | None:
    """The line of `claims.<claim_id>` in a claims file, for errors that point at it."""
    return _lines(path).get(("claims", claim_id))


def located(exc: ClaimError, report_dir: Path) -> ClaimError:
    """A claim's error at the claim's line (`report/claims.yml:12: claim 'x': …`), as `check`
    names it; an error already naming its place, or of no claim, is returned as it is."""
    shown = f"{report_dir.name}/{CLAIMS_FILE}"
    if exc.claim_id is None or str(exc).startswith(shown + ":"):
        return exc
    line = claim_line(report_dir / CLAIMS_FILE, exc.claim_id)
    return exc if line is None else ClaimError(f"{shown}:{line}: {exc}", exc.claim_id)


def _lines(path: Path) -> dict[tuple, int]:
    """The line of every key of a claims file (none where it does not parse)."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return {}
    lines: dict[tuple, int] = {}
    if node is not None:
        index_lines(node, (), lines, [], str(path))
    return lines


def _at(path: Path, loc: tuple) -> str:
    """`report/claims.yml:12`: the line of `loc` (or of the nearest key above it that is there), as
    the errors of judging a claim name it, in `check`, `run`, `render` and `report` alike."""
    from labjournal.yamlfile import line_of

    return f"{_shown(path)}:{line_of(_lines(path), loc)}"


def _shown(path: Path) -> str:
    """A claims file as errors name it: `report/claims.yml`."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


_Strict = StrictModel  # unknown keys are errors; no coercion


class PartLabel(_Strict):
    """Words a reader sees for one part, in place of its metric's and grid points' names."""

    metric: str | None = Field(
        default=None, description="The metric in words, e.g. 'epochs to 70 % accuracy'."
    )
    at: str | None = Field(
        default=None,
        description="What sets the first compared grid point (`at:`) apart, in words, e.g. 'lr 0.02'.",
    )
    than: str | None = Field(
        default=None, description="What sets the second compared grid point (`than:`) apart, in words."
    )


# Shown only: `exclude=True` keeps a label out of every dump, so out of the ledger's encoding, and
# nothing that decides a verdict reads it.
LABEL = Field(
    default=None,
    exclude=True,
    description=(
        "Words a reader sees for this part on the Claims page and in `labjournal check`: a string "
        "for the metric, or {metric, at, than} for the metric and the compared grid points. Shown "
        "only: never part of the verdict nor of the ledger's record; without it the names are shown."
    ),
)


class _Measure(_Strict):
    ref: str
    metric: str
    label: PartLabel | str | None = LABEL
    over: list[str] = Field(default_factory=list)
    margin: float | None = Field(default=None, gt=0)
    scale: Literal["linear", "log"] = "linear"
    exact: bool = False
    # The design makes this part true (more FLOPs for more data): shown, never counted as evidence.
    by_construction: bool = False
    # Other parameters to show this part's verdict across (a sensitivity table, not counted).
    across: list[str] = Field(default_factory=list)


class Comparison(_Measure):
    at: dict[str, JsonValue]
    than: dict[str, JsonValue]
    censored_at: str | float | None = None
    # The spread across seeds compared instead of the mean (labjournal.claims.spread).
    spread: bool = False
    # A declared covariate for an adjusted paired difference (labjournal.claims.adjust).
    adjust: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Comparison:
        chosen = [n for n in ("censored_at", "spread", "adjust") if getattr(self, n) not in (None, False)]
        if len(chosen) > 1:
            raise ValueError(f"give at most one of censored_at, spread, adjust (got {', '.join(chosen)})")
        if self.spread and self.margin is None:
            raise ValueError(
                "spread: true compares the log ratio of the variances: declare its margin on this "
                "part (margin: 0.69 is a ratio of 2)"
            )
        return self


class Trend(_Measure):
    param: str
    direction: Literal["up", "down"]
    at: dict[str, JsonValue] = Field(default_factory=dict)
    x_scale: Literal["auto", "log", "linear"] = "auto"


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
    margin: float | None = Field(default=None, gt=0)  # for every part that declares none


class ClaimsFile(_Strict):
    claims: dict[str, Claim] = Field(default_factory=dict)
    # Holm over the journal's claims unless the author opts out with `familywise: none`.
    familywise: Literal["none", "holm"] = "holm"
    margins: dict[str, float] = Field(default_factory=dict)  # by metric name or glob pattern
    labels: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Words for metric and parameter names wherever a part shows them (e.g. "
            "{epochs_to_threshold: epochs to a loss of 0.4, lr: learning rate}); a part's own "
            "`label:` comes first. Shown only: never part of a verdict nor of the ledger's record."
        ),
    )

    def margins_for(self, claim: Claim) -> Margins:
        return Margins(claim.margin, self.margins)


@dataclass(frozen=True)
class Margins:
    """Where a part's margin is declared: the part, its claim, the file's `margins:` table."""

    claim: float | None = None
    table: dict[str, float] = field(default_factory=dict)

    def of(self, measure: _Measure) -> tuple[float, str] | None:
        """The margin of a part and where it was declared; None where none is."""
        if measure.margin is not None:
            return measure.margin, "declared on this part"
        if self.claim is not None:
            return self.claim, "declared on the claim"
        if measure.metric in self.table:
            return self.table[measure.metric], f"margins: {measure.metric}"
        for pattern, value in self.table.items():
            if fnmatch.fnmatchcase(measure.metric, pattern):
                return value, f"margins: {pattern}"
        return None


def no_margin(metric: str, place: str) -> str:
    """The error of a part with no margin, naming the three places one may be declared."""
    return (
        f"{place}: no margin declared for '{metric}' (the smallest difference that matters is never "
        f"guessed): give `margin:` on this part, `margin:` on the claim (beside `expect:`), or an "
        f"entry in the `margins:` table at the top of claims.yml, keyed by the metric's name or a "
        f"pattern (e.g. `margins: {{{metric}: 0.01}}`)"
    )


def load_claims(path: str | Path) -> dict[str, Claim]:
    """The claims of a claims file; a missing file means no claims."""
    return load_claims_file(path).claims


def load_claims_file(path: str | Path) -> ClaimsFile:
    """Read and validate the claims file with its settings; a missing file means no claims."""
    path = Path(path)
    if not path.exists():
        return ClaimsFile()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {"claims": {}}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _shown(path) + (f":{mark.line + 1}" if mark else "")
        raise ClaimError(f"{where}: not valid YAML ({yaml_problem(exc)})") from exc
    try:
        parsed = ClaimsFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"])
        raise ClaimError(f"{_at(path, tuple(first['loc']))}: {place}: {first['msg']}") from None
    for claim_id, claim in parsed.claims.items():
        try:
            _check_shape(claim.expect, f"claims.{claim_id}.expect")
        except ValueError as exc:
            raise ClaimError(f"{_at(path, ('claims', claim_id, 'expect'))}: {exc}") from None
        margins = parsed.margins_for(claim)
        for loc, measure in leaves(claim.expect, ("claims", claim_id, "expect")):
            if not measure.by_construction and margins.of(measure) is None:
                place = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)[1:]
                raise ClaimError(f"{_at(path, loc)}: {no_margin(measure.metric, place)}", claim_id)
    return parsed


def leaves(expectation: Expectation, loc: tuple = ()) -> list[tuple[tuple, Comparison | Trend]]:
    """Every comparison and trend of an expectation, with its place in the claims file."""
    kind = expectation.kind()
    if kind == "all":
        return [
            leaf for i, part in enumerate(expectation.all or []) for leaf in leaves(part, (*loc, "all", i))
        ]
    return [((*loc, kind), getattr(expectation, kind))]


def _check_shape(expectation: Expectation, place: str) -> None:
    try:
        kind = expectation.kind()
    except ValueError as exc:
        raise ValueError(f"{place}: {exc}") from None
    if kind == "all":
        if not expectation.all:
            raise ValueError(f"{place}.all: an empty conjunction claims nothing; list at least one part")
        for i, part in enumerate(expectation.all or []):
            _check_shape(part, f"{place}.all[{i}]")
