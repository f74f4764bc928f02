"""The code a notebook runs besides its own cells: the project's modules it imports, transitively.

A run's key holds the content of every such module, so editing `helpers.py` beside a notebook
(or a module of the journal's `pythonpath`, or one of `labjournal.kit`) re-runs exactly the
notebooks that import it. Imports are read from the code cells (IPython magics translated first)
and from each module found, as Python would resolve them:

- a name is looked for in the notebook's folder, then in the plan's `pythonpath` folders (the
  order of `sys.path` in a run); a package's `__init__.py` counts with each submodule;
- `labjournal.kit.*` modules are the kit's, what notebooks import from the engine: those
  reached count (the rest of the engine does not: it records, it does not compute results);
- any other name (numpy, torch) is a library: its version is in the key instead;
- an installed package whose files lie inside the project (an editable install) counts too.

Imports made by strings (`importlib.import_module(name)`) cannot be seen: declare such files under
`deps:` in journal.yml.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TypeGuard

import nbformat

import labjournal

ENGINE_ROOT = Path(labjournal.__file__).resolve().parent.parent  # holds the labjournal package


@dataclass
class CodeScan:
    """The local modules of one notebook, found from its imports."""

    notebook: Path
    search: tuple[Path, ...]  # the notebook's folder, then the pythonpath folders
    project: Path
    files: dict[Path, None] = field(default_factory=dict)  # an ordered set

    def run(self) -> list[Path]:
        for name, level in cell_imports(self.notebook):
            if level == 0:
                self._absolute(name)
        return list(self.files)

    def _absolute(self, dotted: str) -> None:
        parts = dotted.split(".")
        if parts[0] == "labjournal":
            if parts[:2] == ["labjournal", "kit"]:
                self._walk(ENGINE_ROOT, parts, skip=1)
            return
        roots = self.search
        for root in roots:
            if _module_file(root, parts[:1]) is not None:
                self._walk(root, parts)
                return
        if parts[0] != "labjournal":
            self._installed_inside_project(parts[0])

    def _walk(self, root: Path, parts: list[str], skip: int = 0) -> None:
        """The package `__init__`s on the way to `parts` (after the first `skip`), the module
        itself, and, for `from package import name`, the submodule `name` where there is one."""
        for depth in range(1 + skip, len(parts) + 1):
            found = _module_file(root, parts[:depth])
            if found is None:
                return
            self._add(found, root)

    def _add(self, path: Path, root: Path) -> None:
        if path in self.files:
            return
        self.files[path] = None
        package = path.parent.relative_to(root).parts  # the package a relative import starts from
        for name, level in module_imports(path, path.stat().st_mtime_ns):
            if level == 0:
                self._absolute(name)
            else:
                base = list(package[: len(package) - (level - 1)] if level > 1 else package)
                self._walk(root, base + name.split(".") if name else base)

    def _installed_inside_project(self, top: str) -> None:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return
        origin = Path(spec.origin).resolve() if spec and spec.origin and spec.origin != "frozen" else None
        if origin is None or not _inside(origin, self.project) or ".venv" in origin.parts:
            return
        root = origin.parent.parent if origin.name == "__init__.py" else origin.parent
        self._walk(root, [top])


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _module_file(root: Path, parts: list[str]) -> Path | None:
    base = root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _type_checking_only(node: ast.AST) -> TypeGuard[ast.If]:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _nodes(tree: ast.AST):  # noqa: ANN202 - a generator of nodes
    """Every node, except the bodies of `if TYPE_CHECKING:` (imports that never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if _type_checking_only(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _imports_of(tree: ast.AST) -> list[tuple[str, int]]:
    """(dotted name, relative level) of every import; `from a import b` gives a and a.b."""
    found: list[tuple[str, int]] = []
    for node in _nodes(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            found.append((module, node.level))
            found += [
                (f"{module}.{alias.name}".strip("."), node.level) for alias in node.names if alias.name != "*"
            ]
    return found


@lru_cache(maxsize=1024)
def module_imports(path: Path, mtime_ns: int) -> tuple[tuple[str, int], ...]:
    try:
        return tuple(_imports_of(ast.parse(path.read_text(encoding="utf-8"))))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return ()  # a broken module fails in the run, with its own message


def cell_imports(notebook: Path) -> list[tuple[str, int]]:
    """The imports of a notebook's code cells (magics and shell escapes translated away)."""
    from IPython.core.inputtransformer2 import TransformerManager

    translate = TransformerManager().transform_cell
    found: list[tuple[str, int]] = []
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            found += _imports_of(ast.parse(translate(cell.source)))
        except SyntaxError:
            continue  # the run reports it, naming the cell
    return found


def local_modules(notebook: Path, pythonpath: list[Path], project: Path) -> list[Path]:
    """Every project or engine module the notebook imports, transitively, in the order found."""
    search = (notebook.parent.resolve(), *(folder.resolve() for folder in pythonpath))
    return CodeScan(notebook.resolve(), search, project.resolve()).run()


def shown_name(path: Path, project: Path) -> str:
    """How a module is named in keys and listings: relative to the project, or `labjournal/...`."""
    path = path.resolve()
    if _inside(path, ENGINE_ROOT / "labjournal"):  # wherever the engine is installed
        return path.relative_to(ENGINE_ROOT).as_posix()
    if _inside(path, project.resolve()):
        return path.relative_to(project.resolve()).as_posix()
    return path.as_posix()
