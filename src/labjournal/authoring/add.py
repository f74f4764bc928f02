"""`labjournal add NOTEBOOK --lab LAB`: adopt an ordinary Jupyter notebook into a journal.

The notebook gets a `parameters` cell: where none is tagged, the first code cell made only of
literal assignments (`lr = 0.1`, `name = "a"`) is tagged, and `seed = 0` is added where the cell
assigns no seed. journal.yml gets an entry under `labs.LAB.notebooks`, written with ruamel.yaml's
round-trip mode so that its comments, key order and formatting stay as they were. Nothing is
written before every check has passed, and where the edited plan does not load, both files are
put back as they were.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml
from papermill.translators import PythonTranslator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError as RuamelYAMLError
from ruamel.yaml.scalarstring import SingleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from labjournal.authoring.page import PageEdit, check_page_name, page_edit
from labjournal.errors import LabjournalError, PlanError
from labjournal.plan.model import SEED_PARAMETER, Plan, load_plan
from labjournal.plan.notebooks import HOW_TO_TAG
from labjournal.project import PLAN_FILE, REPORT_DIR, Project
from labjournal.yamlfile import index_lines

TAG = "parameters"
SEED_LINE = f"{SEED_PARAMETER} = 0  # labjournal sets it for every run"
SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class Adoption:
    """What `adopt` did, and what it tells the author to do next."""

    lab: str
    name: str
    path: str  # the notebook, relative to the project root
    tagged_cell: int | None  # the cell newly tagged `parameters` (1 = the first); None: one was tagged
    added_seed: bool
    line: int  # where the entry starts in journal.yml
    new_lab: bool
    records: bool  # the notebook already calls `record.`
    reformatted: int = 0  # lines of journal.yml outside the entry that ruamel.yaml wrote differently
    page: PageEdit | None = None  # a new lab's page, created and listed in _quarto.yml as needed

    def done(self) -> list[str]:
        lines = []
        if self.tagged_cell is not None:
            lines.append(f"Tagged cell {self.tagged_cell} of {self.path} 'parameters'.")
        if self.added_seed:
            lines.append(f"Added `{SEED_PARAMETER} = 0` to its parameters cell.")
        where = "a new lab" if self.new_lab else "lab"
        lines.append(f"Added notebook '{self.name}' to {where} '{self.lab}' at {PLAN_FILE} line {self.line}.")
        lines += self.page.done() if self.page else []
        if self.reformatted:
            lines.append(
                f"Note: ruamel.yaml rewrote {self.reformatted} other line(s) of {PLAN_FILE} in its own "
                "style (the meaning is unchanged); see `git diff`."
            )
        return lines

    def next_steps(self) -> list[str]:
        steps = []
        if self.added_seed:
            steps.append(
                f"The notebook must use `{SEED_PARAMETER}`: seed the generators with it: "
                f"`labjournal.kit.runtime.setup({SEED_PARAMETER})`, or "
                f"`torch.manual_seed({SEED_PARAMETER})` / `np.random.seed({SEED_PARAMETER})`."
            )
        if not self.records:
            steps.append(
                "Record what the journal shows: `from labjournal.kit import record; "
                'record.scalar("accuracy", acc)`, `record.figure("name", fig, caption="...")`.'
            )
        steps.append(f"`labjournal plan` lists its runs; `labjournal run --lab {self.lab}` runs them.")
        return steps


def adopt(
    project: Project,
    notebook: str | Path,
    lab: str,
    experiment: str | None = None,
    grid: Sequence[str] = (),
    name: str | None = None,
    page: str | None = None,
) -> Adoption:
    """Tag the notebook's parameters cell and add it to the plan (see the module's docstring)."""
    plan = load_plan(project.plan_file)  # an invalid plan is reported as it is, before any edit
    path = notebook_path(project, notebook)
    relative = path.relative_to(project.root).as_posix()
    name = name or default_name(path)
    _check_entry(plan, lab, name, path, page)
    values = parse_grid(grid)
    try:
        document = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # not JSON, not a notebook
        raise LabjournalError(f"{relative}: cannot read the notebook: {exc}") from exc
    tagged, added_seed = tag_parameters(document, relative)
    declared = parameter_names(_parameters_cell(document).source)
    _check_grid(values, declared, relative)
    old_plan = project.plan_file.read_text(encoding="utf-8")
    entry = plan_entry(relative, experiment or (name if values else None), values)
    new_plan = edit_plan(old_plan, lab, name, entry, page)
    new_page = None
    if page is not None and lab not in plan.labs:
        new_page = page_edit(project, page, lab, [spec.page for spec in plan.labs.values()])
    _write_checked(project, path, document, new_plan, new_page.files(project) if new_page else {})
    return Adoption(
        lab=lab,
        name=name,
        path=relative,
        tagged_cell=tagged,
        added_seed=added_seed,
        line=_entry_line(new_plan, lab, name),
        new_lab=lab not in plan.labs,
        records=any("record." in cell.source for cell in document.cells if cell.cell_type == "code"),
        reformatted=_changed_lines(old_plan, new_plan),
        page=new_page,
    )


# --------------------------------------------------------------------------------------------
# The notebook


def notebook_path(project: Project, notebook: str | Path) -> Path:
    path = Path(notebook).resolve()
    if not path.is_file() and not Path(notebook).is_absolute():
        path = (project.root / notebook).resolve()  # as the project names it (with --project)
    if not path.is_file():
        raise LabjournalError(f"{notebook}: no such notebook")
    if path.suffix != ".ipynb":
        raise LabjournalError(f"{notebook}: not a Jupyter notebook (.ipynb)")
    if not path.is_relative_to(project.root):
        raise LabjournalError(
            f"{notebook} is outside the project {project.root}: move it in first "
            "(e.g. into experiments/), then add it"
        )
    return path


def default_name(path: Path) -> str:
    """The notebook's file stem made a valid identifier: `01 Fit-line` -> `nb_01_fit_line`."""
    name = re.sub(r"\W+", "_", path.stem).strip("_").lower()
    return name if name.isidentifier() else f"nb_{name}"


def is_literal_assignment_cell(source: str) -> bool:
    """Only assignments of literals to plain names (comments and blank lines allowed); an IPython
    magic or shell escape is not Python, so a cell with one is not literal."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and all(_literal_assignment(statement) for statement in body)


def _literal_assignment(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Assign):
        plain, value = all(isinstance(target, ast.Name) for target in statement.targets), statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        plain, value = isinstance(statement.target, ast.Name), statement.value
    else:
        return False
    try:
        return plain and (ast.literal_eval(value) or True)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False


def parameter_names(source: str) -> list[str]:
    """The names papermill reads from a parameters cell (as `labjournal.plan.notebooks` does)."""
    cell = nbformat.v4.new_code_cell(source)
    return [parameter.name for parameter in PythonTranslator.inspect(cell)]


def _tagged(cell: Any) -> bool:
    return TAG in cell.get("metadata", {}).get("tags", [])


def _parameters_cell(document: Any) -> Any:
    return next(cell for cell in document.cells if _tagged(cell))


def tag_parameters(document: Any, shown: str) -> tuple[int | None, bool]:
    """Tag the parameters cell and give it a seed, in memory; return the number of the cell
    newly tagged (None where one was tagged already) and whether `seed = 0` was added."""
    tagged = None
    if not any(_tagged(cell) for cell in document.cells):
        index = next(
            (
                i
                for i, cell in enumerate(document.cells)
                if cell.cell_type == "code" and is_literal_assignment_cell(cell.source)
            ),
            None,
        )
        if index is None:
            raise LabjournalError(
                f"{shown} has no cell tagged 'parameters' and no code cell made only of literal "
                "assignments (lr = 0.1, epochs = 3) to tag: put the parameters' defaults in a cell "
                f"of their own, or {HOW_TO_TAG}; the notebook was not changed"
            )
        cell = document.cells[index]
        cell.setdefault("metadata", {}).setdefault("tags", []).append(TAG)
        tagged = index + 1
    cell = _parameters_cell(document)
    if SEED_PARAMETER in parameter_names(cell.source):
        return tagged, False
    cell.source = cell.source.rstrip("\n") + ("\n" if cell.source.strip() else "") + SEED_LINE
    return tagged, True


# --------------------------------------------------------------------------------------------
# The plan


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """`lr=0.1,0.01` `optimizer=adam,sgd` -> {lr: [0.1, 0.01], optimizer: [adam, sgd]}, each value
    read as a YAML scalar (0.1 float, 3 int, true bool, adam string)."""
    scalar = YAML(typ="safe", pure=True)
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, equals, listed = item.partition("=")
        key = key.strip()
        if not equals or not key.isidentifier() or not listed.strip():
            raise LabjournalError(f"--grid {item}: expected NAME=VALUE[,VALUE...], e.g. lr=0.1,0.01")
        if key in grid:
            raise LabjournalError(f"--grid {item}: '{key}' is given twice")
        values = []
        for text in listed.split(","):
            try:
                value = scalar.load(text.strip()) if text.strip() else None
            except RuamelYAMLError as exc:
                raise LabjournalError(f"--grid {item}: '{text}' is not a YAML scalar") from exc
            if not isinstance(value, SCALARS):
                raise LabjournalError(f"--grid {item}: '{text}' is not a number, a boolean or a string")
            values.append(value)
        grid[key] = values
    return grid


def _check_entry(plan: Plan, lab: str, name: str, path: Path, page: str | None) -> None:
    for lab_name, lab_spec in plan.labs.items():
        for nb_name, nb in lab_spec.notebooks.items():
            if (plan.root / nb.path).resolve() == path:
                raise LabjournalError(
                    f"{nb.path} is already in the plan, as labs.{lab_name}.notebooks.{nb_name}"
                )
    if lab in plan.labs:
        if name in plan.labs[lab].notebooks:
            raise LabjournalError(
                f"lab '{lab}' already has a notebook named '{name}': choose another with --name"
            )
        return
    known = ", ".join(plan.labs) or "none"
    if page is None:
        raise LabjournalError(
            f"no lab '{lab}' in the plan (it has: {known}); to start a new lab, "
            f"name its page in {REPORT_DIR}/ with --page"
        )
    check_page_name(page)  # a page not there yet is created, one not listed is listed


def _check_grid(grid: dict[str, list[Any]], declared: list[str], shown: str) -> None:
    for key in grid:
        if key == SEED_PARAMETER:
            raise LabjournalError(
                f"--grid {key}: seeds come from the profiles' `seeds` in {PLAN_FILE}, not from a grid"
            )
        if key not in declared:
            raise LabjournalError(
                f"--grid {key}: {shown}'s parameters cell declares no '{key}' "
                f"(it declares: {', '.join(declared)})"
            )


def plan_entry(path: str, experiment: str | None, grid: dict[str, list[Any]]) -> CommentedMap:
    """The notebook's entry; the grid in flow style, as the plans `labjournal new` writes."""
    entry = CommentedMap(path=_yaml11_safe(path))
    if experiment is not None:
        spec = CommentedMap()
        if grid:
            flow = CommentedMap(
                (_yaml11_safe(key), [_yaml11_safe(v) for v in values]) for key, values in grid.items()
            )
            flow.fa.set_flow_style()
            spec["grid"] = flow
        entry["experiments"] = CommentedMap({_yaml11_safe(experiment): spec})
    return entry


def _yaml11_safe(value: Any) -> Any:
    """The plan is read as YAML 1.1 (ruamel.yaml writes 1.2), so what 1.1 reads otherwise is
    written so that it reads back as it is: a string such as `off`, `yes` or `null` (a boolean
    or null to YAML 1.1) quoted, `'off'`; a float without a dot (`1e-05`, as Python writes it, a
    string to YAML 1.1) written `1.0e-05`."""
    if isinstance(value, str):
        try:
            same = yaml.safe_load(value) == value
        except yaml.YAMLError:
            same = False
        return value if same else SingleQuotedScalarString(value)
    mantissa, e, exponent = repr(value).partition("e")
    if not isinstance(value, float) or not e or "." in mantissa:
        return value
    return YAML().load(f"{mantissa}.0e{exponent}")  # a ScalarFloat, written as it was read


def _round_trip(text: str) -> YAML:
    """ruamel.yaml in round-trip mode, set to write the file the way it is written."""
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap a long line
    _, indent, block_seq_indent = load_yaml_guess_indent(text)
    rt.indent(mapping=indent or 2, sequence=indent or 2, offset=block_seq_indent or 0)
    return rt


def edit_plan(text: str, lab: str, name: str, entry: CommentedMap, page: str | None) -> str:
    """journal.yml's text with the entry added under labs.LAB.notebooks (the lab made if new)."""
    rt = _round_trip(text)
    data = rt.load(text)
    labs = data["labs"]
    if lab not in labs:
        labs.fa.set_block_style()  # `labs: {}` grows into blocks
        page = _yaml11_safe(page)
        labs[_yaml11_safe(lab)] = CommentedMap(title=_yaml11_safe(lab), page=page, notebooks=CommentedMap())
    if labs[lab].get("notebooks") is None:
        labs[lab]["notebooks"] = CommentedMap()
    notebooks = labs[lab]["notebooks"]
    notebooks.fa.set_block_style()
    notebooks[_yaml11_safe(name)] = entry
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def _entry_line(text: str, lab: str, name: str) -> int:
    lines: dict[tuple, int] = {}
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:  # an empty file
        index_lines(root, (), lines, [], PLAN_FILE)
    return lines[("labs", lab, "notebooks", name)]


def _changed_lines(old: str, new: str) -> int:
    """How many lines of the old text the new one does not keep as they were."""
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    return sum(i2 - i1 for tag, i1, i2, _, _ in matcher.get_opcodes() if tag in ("replace", "delete"))


def _write_checked(
    project: Project, path: Path, document: Any, plan_text: str, others: dict[Path, str]
) -> None:
    """Write the notebook, the `others` (a new lab's page, _quarto.yml) and the plan; where the
    plan then does not load (or anything fails), put all back byte for byte and report why."""
    targets = [path, project.plan_file, *others]
    saved = {target: target.read_bytes() if target.exists() else None for target in targets}
    try:
        nbformat.write(document, str(path))
        for target, text in others.items():
            target.write_text(text, encoding="utf-8")
        project.plan_file.write_text(plan_text, encoding="utf-8")
        load_plan(project.plan_file)
    except BaseException as exc:
        for target, content in saved.items():
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(content)
        if isinstance(exc, PlanError):
            listing = "\n".join(f"  {problem}" for problem in exc.problems)
            raise LabjournalError(
                f"{path.name} was not added: with it the plan would be invalid:\n{listing}\n"
                f"{PLAN_FILE} and {path.name} are as they were"
            ) from exc
        raise
