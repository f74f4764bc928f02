"""What a notebook declares: the parameters of its cell tagged `parameters`, with their defaults.

The notebooks run in the project's Python kernel whatever their metadata says (a notebook made with
`nbformat.v4.new_notebook()` has no kernelspec at all), so they are read as Python with papermill's
own parameter parser, imported when a notebook is first read (loading a plan imports neither
papermill nor nbformat until it looks at a notebook).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Any

from labjournal.errors import NoParametersCell

HOW_TO_TAG = (
    "tag the cell that assigns the defaults (seed = 0, lr = 0.1, ...) with 'parameters': in "
    "JupyterLab select it and add the tag in the property inspector (the gear icon); in VS Code "
    "use 'Add Cell Tag'"
)


@functools.lru_cache(maxsize=256)
def _declared(notebook_path: Path, mtime_ns: int) -> tuple[tuple[str, Any], ...]:
    import nbformat
    from papermill.translators import PythonTranslator

    notebook = nbformat.read(str(notebook_path), as_version=4)
    cells = [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise NoParametersCell(f"{notebook_path.name} has no cell tagged 'parameters': {HOW_TO_TAG}")
    # The notebooks run in the project's Python kernel whatever their metadata says (a notebook
    # made with nbformat may have no kernelspec at all), so they are read as Python.
    declared = []
    for parameter in PythonTranslator.inspect(cells[0]):
        try:
            default = ast.literal_eval(parameter.default)
        except (ValueError, SyntaxError):
            default = None  # an expression: any value is accepted
        declared.append((parameter.name, default))
    return tuple(declared)


def declared_parameters(notebook_path: Path) -> dict[str, Any]:
    """The parameters a notebook declares in its `parameters` cell, with their default values."""
    path = Path(notebook_path).resolve()
    return dict(_declared(path, path.stat().st_mtime_ns))
