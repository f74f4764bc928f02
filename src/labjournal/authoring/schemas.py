"""JSON Schemas of the two files an author writes, `journal.yml` and `report/claims.yml`, generated
from the pydantic models that validate them (`labjournal.plan.schema.PlanFile`,
`labjournal.claims.file.ClaimsFile`), so an editor's completion and the run-time checks never
disagree. Each field's description is its `Field(description=...)`, else the comment written beside
or above it in the model's source, else its line in `NOTES` below; a model's is its docstring.

A YAML-aware editor (VS Code with the YAML extension, anything built on yaml-language-server) reads
the schema named on a file's first line: `# yaml-language-server: $schema=schemas/journal.schema.json`.

    python -m labjournal.authoring.schemas schemas/     # writes journal.schema.json, claims.schema.json
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import sys
import textwrap
import tokenize
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from labjournal.claims.file import ClaimsFile
from labjournal.plan.schema import PlanFile

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS: dict[str, type[BaseModel]] = {"journal": PlanFile, "claims": ClaimsFile}
TITLES = {"journal": "labjournal journal.yml", "claims": "labjournal report/claims.yml"}

# What the models' source leaves unsaid, by (model, field): read where neither `description=` nor a
# comment describes a field. tests/test_schemas.py checks that every entry names a field that is there.
NOTES: dict[tuple[str, str], str] = {
    ("PlanFile", "profiles"): "The profiles by name: each picks the seeds and the data variant.",
    ("PlanFile", "default_profile"): "The profile used when none is named (`--profile`).",
    ("PlanFile", "data"): "Datasets by name, which notebooks declare with `data: [name]`.",
    ("PlanFile", "labs"): "The labs by id: each a page and its notebooks.",
    ("Profile", "description"): "What the profile is for (shown by `labjournal plan`).",
    ("Profile", "seeds"): "The seeds every grid point runs (an experiment or notebook may set its own).",
    ("Profile", "data"): "The data variant: `sample` (the offline sample) or `full`.",
    ("Profile", "decide"): "Add seeds where a claim needs them, by this design (`make report` runs it).",
    ("Decide", "max_seeds"): "The cap: the most seeds a grid point gets (always a look).",
    ("Decide", "batch"): "Seeds added at each look after the first pass.",
    ("Decide", "budget_minutes"): "Stop adding seeds this many minutes after the first pass.",
    ("Override", "params"): "Parameters this profile changes.",
    ("Override", "grid"): "The grid this profile runs instead.",
    ("Override", "seeds"): "The seeds this profile runs here instead of the profile's.",
    ("Experiment", "description"): "What the experiment varies (shown on the page and by `plan`).",
    ("Experiment", "params"): "Parameters fixed for every run of the experiment.",
    ("Experiment", "grid"): "Parameters to vary: every combination of their values runs, for every seed.",
    ("Experiment", "seeds"): "The seeds of this experiment instead of the profile's.",
    ("Experiment", "profiles"): "What a profile changes for this experiment, by profile name.",
    ("Dataset", "path"): "A file or folder of the project (relative to it).",
    ("Dataset", "url"): "A download, fetched once into the cache and checked by `sha256`.",
    ("Dataset", "sha256"): "The download's checksum (`sha256sum FILE` prints it).",
    ("Dataset", "loader"): "`module:function` that finds the data, called with the profile's data variant.",
    ("Dataset", "description"): "What the data is.",
    ("Notebook", "path"): "The notebook, relative to the project.",
    ("Notebook", "description"): "What the notebook does.",
    ("Notebook", "data"): "The datasets (names under `data:`) the notebook reads.",
    ("Notebook", "params"): "Parameters of every run of the notebook (declared in its `parameters` cell).",
    ("Notebook", "seeds"): "The seeds of this notebook instead of the profile's.",
    ("Notebook", "profiles"): "What a profile changes for this notebook, by profile name.",
    (
        "Notebook",
        "experiments",
    ): "The notebook's experiments by name (a notebook without any runs once per seed).",
    ("Lab", "title"): "The lab's title, as its page and the site's menu show it.",
    ("Lab", "page"): "Its page under report/ (`.qmd`).",
    ("Lab", "notebooks"): "The lab's notebooks by name.",
    (
        "Verify",
        "tolerance",
    ): "The default tolerance of a value: `|now - recorded| <= abs + rel * |recorded|`.",
    ("Verify", "metrics"): "A metric's own tolerance, by name or glob pattern.",
    ("Verify", "figures"): "The fraction of a figure's pixels that may differ.",
    ("Verify", "measured"): "Wall-clock measurements (name patterns): shown, never compared.",
    ("Tolerance", "abs"): "Absolute tolerance.",
    ("Tolerance", "rel"): "Tolerance relative to the recorded value.",
    ("ClaimsFile", "claims"): 'The claims by id; a page places one with `{{ claim("id") }}`.',
    ("Claim", "lab"): "The lab whose page states the claim.",
    ("Claim", "sentence"): "The claim as the page states it.",
    ("Claim", "expect"): "What the results must show: exactly one of less, greater, trend, all.",
    ("Claim", "figure"): "A figure that shows it (`lab/notebook/figure`).",
    ("Expectation", "less"): "The metric is lower at `at` than at `than`.",
    ("Expectation", "greater"): "The metric is higher at `at` than at `than`.",
    ("Expectation", "trend"): "The metric goes `up` or `down` with `param`.",
    ("Expectation", "all"): "A conjunction of at least one part, judged part by part.",
    ("_Measure", "ref"): "The experiment: `lab/experiment`.",
    ("_Measure", "metric"): "The metric compared.",
    ("_Measure", "over"): "Replicates within a seed (cross-validation folds), averaged within their seed.",
    (
        "_Measure",
        "margin",
    ): "The smallest difference that matters, declared on this part (else the claim's, else `margins:`).",
    ("_Measure", "scale"): "`log` compares log-ratios (values spanning orders of magnitude).",
    ("_Measure", "exact"): "A deterministic measure (FLOP and parameter counts are recognised by name).",
    ("Comparison", "at"): "The grid point expected to be lower (less) or higher (greater).",
    ("Comparison", "than"): "The grid point it is compared with.",
    (
        "Comparison",
        "censored_at",
    ): "A missing value means 'not reached within' this parameter (or number): restricted times, signed-rank test.",
    ("Trend", "param"): "The parameter along which the metric moves.",
    ("Trend", "direction"): "`up` or `down`.",
    ("Trend", "at"): "The other parameters, fixed.",
    (
        "Trend",
        "x_scale",
    ): "The trend's axis (auto: log2 when the values are positive and span a factor of 4).",
}


def file_name(which: str) -> str:
    """`journal.schema.json`, `claims.schema.json`."""
    return f"{which}.schema.json"


def _comments(source: str) -> dict[int, str]:
    """The comment on each line of a piece of source, without its `#`."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {tok.start[0]: tok.string.lstrip("#").strip() for tok in tokens if tok.type == tokenize.COMMENT}


def _own_notes(model: type[BaseModel]) -> dict[str, str]:
    """The comments written with each field a class itself declares: the block of comment lines
    right above it, then the comment at the end of its statement."""
    try:
        source = textwrap.dedent(inspect.getsource(model))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    comments = _comments(source)
    notes: dict[str, str] = {}
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    for node in body.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above: list[str] = []
        line = node.lineno - 1
        while line >= 1 and lines[line - 1].lstrip().startswith("#"):
            above.insert(0, comments[line])
            line -= 1
        end = node.end_lineno or node.lineno
        beside = [comments[n] for n in range(node.lineno, end + 1) if n in comments]
        text = " ".join(above + beside).strip()
        if text:
            notes[node.target.id] = _sentence(text)
    return notes


def _sentence(text: str) -> str:
    """A comment as a description: a capital first letter and a full stop."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def field_notes(model: type[BaseModel]) -> dict[str, str]:
    """Each field's description: `Field(description=...)`, else its comment in the source (of the
    class that declares it, inherited fields included)."""
    notes: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if isinstance(klass, type) and issubclass(klass, BaseModel) and klass is not BaseModel:
            notes.update(_own_notes(klass))
    for name, field in model.model_fields.items():
        for klass in model.__mro__:
            if name not in notes and (getattr(klass, "__name__", ""), name) in NOTES:
                notes[name] = NOTES[(klass.__name__, name)]
        if field.description:
            notes[name] = field.description
    return {name: notes[name] for name in model.model_fields if name in notes}


def models_of(root: type[BaseModel]) -> list[type[BaseModel]]:
    """The root model and every model reachable from its fields, in the order first met."""
    found: list[type[BaseModel]] = []
    todo = [root]
    while todo:
        model = todo.pop(0)
        if model in found:
            continue
        found.append(model)
        for field in model.model_fields.values():
            todo.extend(_models_in(field.annotation))
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def json_schema(which: str) -> dict[str, Any]:
    """The JSON Schema of `journal` or `claims`, with every field's description."""
    root = SCHEMAS[which]
    schema = root.model_json_schema(mode="validation")
    described = {m.__name__: m for m in models_of(root)}
    for name, part in [(root.__name__, schema), *schema.get("$defs", {}).items()]:
        model = described.get(name)
        if model is None:
            continue
        for field, note in field_notes(model).items():
            part.get("properties", {}).get(field, {}).setdefault("description", note)
    return {"$schema": DRAFT, "title": TITLES[which], **{k: v for k, v in schema.items() if k != "title"}}


def schema_text(which: str) -> str:
    """The schema as written to its file (sorted keys, two-space indent, a final newline)."""
    return json.dumps(json_schema(which), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(folder: str | Path) -> list[Path]:
    """Write both schemas into `folder`; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for which in SCHEMAS:
        path = folder / file_name(which)
        path.write_text(schema_text(which), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a convenience for `make schemas`
    for path in write_schemas(sys.argv[1] if len(sys.argv) > 1 else "schemas"):
        print(path)
