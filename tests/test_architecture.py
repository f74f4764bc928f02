"""The house rules of the engine: no import circles (type-only imports count), no module over
about 400 lines, no function over 60 lines nor class over 200, and the CLI only parses arguments
and calls the engine."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "labjournal"
MAX_LINES = 420  # "about 400"
MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 200


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every labjournal module this file imports, wherever the import statement stands
    (top level, inside a function, or under `if TYPE_CHECKING:`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name in known:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    return {name: _imports(path, known) - {name} for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle_inside_the_package():
    graph = import_graph()
    assert "labjournal.run.scheduler" in graph and graph["labjournal.run.scheduler"], "the graph was not read"
    assert find_cycle(graph) is None, f"import circle: {' -> '.join(find_cycle(graph) or [])}"


def test_no_module_is_longer_than_about_400_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_results_and_rendering_never_import_the_scheduler():
    """Data flows one way: plan -> run -> results -> claims -> render -> build."""
    graph = import_graph()
    for reader in (
        "labjournal.results.lookup",
        "labjournal.claims.judge",
        "labjournal.render.journal",
        "labjournal.build.outputs",
    ):
        assert "labjournal.run.scheduler" not in graph[reader], reader


# The stages in the order data flows; a module may import its own stage and those before it.
# The shared base (errors, files, yamlfile, project, records) imports nothing of the stages.
STAGES = [
    "base",
    "plan",
    "data",
    "kit",
    "results",
    "run",
    "claims",
    "render",
    "build",
    "pipeline",
    "authoring",
    "commands",
    "cli",
]
BASE = {"labjournal", "labjournal.errors", "labjournal.files", "labjournal.yamlfile", "labjournal.project"}
BASE |= {"labjournal.records", "labjournal.names", "labjournal.options"}


def stage_of(module: str) -> str:
    if module in BASE:
        return "base"
    return module.split(".")[1]


def test_every_module_belongs_to_a_stage():
    unknown = sorted(m for m in import_graph() if stage_of(m) not in STAGES)
    assert not unknown, f"modules outside the stages {STAGES}: {unknown}"


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_data_flows_one_way_between_the_stages():
    """plan -> data -> kit -> results -> run -> claims -> render -> build -> pipeline -> authoring -> commands -> cli, transitively,
    type-only imports included: no module reaches one of a later stage."""
    graph = import_graph()
    wrong = []
    for module in graph:
        rank = STAGES.index(stage_of(module))
        for other in reachable(graph, module):
            if STAGES.index(stage_of(other)) > rank:
                wrong.append(f"{module} -> {other}")
    assert not wrong, "imports against the flow:\n" + "\n".join(sorted(wrong))


def test_the_stage_check_catches_an_arrow_back_up():
    graph = {"labjournal.plan.model": {"labjournal.files"}, "labjournal.files": {"labjournal.render.prose"}}
    assert "labjournal.render.prose" in reachable(graph, "labjournal.plan.model")
    assert STAGES.index(stage_of("labjournal.render.prose")) > STAGES.index(stage_of("labjournal.plan.model"))


def test_at_most_ten_modules_beside_the_stage_folders():
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= 10, top
    for folder in PACKAGE.iterdir():
        if (folder / "__init__.py").exists():
            doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text()))
            assert doc and "import" in doc.lower(), (
                f"{folder.name}/__init__.py must say what it does and may import"
            )


def long_definitions(root: Path = PACKAGE) -> dict[str, int]:
    """Every function over MAX_FUNCTION_LINES lines and class over MAX_CLASS_LINES (from its `def`
    or `class` line to its last, docstring included), as "path::name" -> lines."""
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                limit = MAX_FUNCTION_LINES
            elif isinstance(node, ast.ClassDef):
                limit = MAX_CLASS_LINES
            else:
                continue
            length = node.end_lineno - node.lineno + 1
            if length > limit:
                found[f"{path.relative_to(root).as_posix()}::{node.name}"] = length
    return found


def test_the_length_check_finds_long_functions_and_classes(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    methods = "\n".join(f"    def m{i}(self):\n        return {i}\n" for i in range(MAX_CLASS_LINES // 3 + 2))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        f"def long():\n{body}\n\n\ndef short():\n    return 1\n\n\nclass Big:\n{methods}"
    )
    found = long_definitions(tmp_path)
    assert found == {"pkg/mod.py::long": MAX_FUNCTION_LINES + 1, "pkg/mod.py::Big": found["pkg/mod.py::Big"]}
    assert found["pkg/mod.py::Big"] > MAX_CLASS_LINES


def test_no_function_is_over_60_lines_and_no_class_over_200() -> None:
    long = long_definitions()
    assert not long, (
        f"over {MAX_FUNCTION_LINES} lines (functions) or {MAX_CLASS_LINES} (classes): "
        + ", ".join(f"{name} ({n} lines)" for name, n in sorted(long.items()))
    )


def test_loading_a_plan_imports_neither_scipy_nor_papermill() -> None:
    """The statistics live with the claims and the notebook readers load on first use, so
    `labjournal plan` and every stage that only reads the plan start quickly."""
    import subprocess
    import sys

    code = "import sys, labjournal.plan.model; print(sorted(m for m in sys.modules if m.split('.')[0] in {'scipy', 'papermill', 'nbclient', 'numpy'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_every_exception_is_defined_in_the_errors_module() -> None:
    """One errors module: a newcomer finds every exception labjournal raises in labjournal/errors.py."""
    elsewhere = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name)
                and (b.id.endswith(("Error", "Exception")) or b.id == "KeyboardInterrupt")
                for b in node.bases
            ):
                elsewhere.append(f"{path.relative_to(PACKAGE)}::{node.name}")
    assert not elsewhere, elsewhere


def test_every_environment_variable_is_named_in_names_py() -> None:
    """labjournal's environment variables are named once (labjournal.names); every other module uses
    the names, so a reader finds them all in one place."""
    import re

    literal = re.compile(r"[\"']LABJOURNAL_[A-Z_]+[\"']")
    found = {
        str(path.relative_to(PACKAGE)): literal.findall(path.read_text(encoding="utf-8"))
        for path in PACKAGE.rglob("*.py")
        if path.name != "names.py"
    }
    assert not {path: names for path, names in found.items() if names}
