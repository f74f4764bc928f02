"""Run pages converted in child processes are the pages converted here, byte for byte; the
remembered filters change nothing; a notebook that cannot be converted is an error naming it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from labjournal.errors import RenderError
from labjournal.render.notebook_html import Conversion, _default_workers, convert_all


def _notebooks(folder: Path, count: int) -> list[Path]:
    """`count` executed runs of one notebook: the same cells, different parameters and outputs,
    one cell in another language (`%%bash`, highlighted as bash by its `magics_language`)."""
    paths = []
    for seed in range(count):
        notebook = nbformat.v4.new_notebook(
            metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}}
        )
        params = nbformat.v4.new_code_cell(f"seed = {seed}\nlr = 0.1", execution_count=1)
        body = nbformat.v4.new_code_cell("import math\nloss = math.exp(-seed)\nloss", execution_count=2)
        body.outputs = [
            nbformat.v4.new_output("execute_result", {"text/plain": repr(2.718**-seed)}, execution_count=2)
        ]
        shell = nbformat.v4.new_code_cell("%%bash\necho $HOME | wc -c", metadata={"magics_language": "bash"})
        notes = nbformat.v4.new_markdown_cell("## Loss\nThe loss is *small* <b>here</b>.")
        notebook.cells = [notes, params, body, shell]
        path = folder / f"run{seed}" / "notebook.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, str(path))
        paths.append(path)
    return paths


def test_pages_made_by_child_processes_are_the_pages_made_here(tmp_path: Path) -> None:
    sources = _notebooks(tmp_path / "runs", 5)
    here = [Conversion(s, tmp_path / "here" / f"{i}.html", f"nb seed={i}") for i, s in enumerate(sources)]
    shared = [Conversion(s, tmp_path / "shared" / f"{i}.html", f"nb seed={i}") for i, s in enumerate(sources)]
    for folder in ("here", "shared"):
        (tmp_path / folder).mkdir()
    convert_all(here, tmp_path, workers=1)
    convert_all(shared, tmp_path, workers=2)
    for one, other in zip(here, shared, strict=True):
        assert one.target.read_bytes() == other.target.read_bytes()
    page = here[3].target.read_text()
    assert 'seed</span> <span class="o">=</span> <span class="mi">3</span>' in page  # its own parameters
    assert "nb seed=3" in page and "<b>here</b>" in page
    assert 'class="nb">echo</span>' in page  # the %%bash cell highlighted as bash, not as Python


def test_remembered_filters_give_nbconverts_own_pages(tmp_path: Path) -> None:
    from nbconvert import HTMLExporter

    from labjournal.render.notebook_html import NOTEBOOK_TEMPLATES

    sources = _notebooks(tmp_path / "runs", 2)
    conversions = [Conversion(s, tmp_path / f"{i}.html", "nb") for i, s in enumerate(sources)]
    convert_all(conversions, tmp_path, workers=1)
    plain = HTMLExporter(template_name="offline", extra_template_basedirs=[str(NOTEBOOK_TEMPLATES)])
    for item in conversions:
        expected, _ = plain.from_notebook_node(
            nbformat.read(str(item.source), as_version=4), resources={"metadata": {"name": "nb"}}
        )
        assert item.target.read_text() == expected


@pytest.mark.parametrize("workers", [1, 2])
def test_a_notebook_that_cannot_be_converted_is_named(tmp_path: Path, workers: int) -> None:
    sources = _notebooks(tmp_path / "runs", 3)
    sources[1].write_text("{ not a notebook")
    conversions = [Conversion(s, tmp_path / f"{i}.html", "nb") for i, s in enumerate(sources)]
    with pytest.raises(RenderError, match=r"run1/notebook\.ipynb: cannot make its page"):
        convert_all(conversions, tmp_path, workers=workers)


def test_few_pages_are_converted_in_this_process() -> None:
    assert _default_workers(5) == 1
    assert _default_workers(0) == 1
    assert 1 <= _default_workers(1000) <= 8
