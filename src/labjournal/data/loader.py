"""A journal's own `loader: "module:function"`, called in a child Python.

The engine never imports the journal's code: a child process with the project folder and its
`pythonpath` folders on `PYTHONPATH` imports the module afresh (an edited loader is always the one
that runs), calls the function with the profile's data variant and prints what it found as one
JSON line. The engine's `sys.path` and `sys.modules` stay as they were, whatever the loader does.

    python -m labjournal.data.loader course.datasets:fashion_mnist sample
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from labjournal.errors import DataUnavailableError

MARK = "labjournal-loader-result: "


@dataclass(frozen=True)
class Found:
    """What a `loader:` function returns: where the dataset is, in words, and which variant it is."""

    path: str | Path
    description: str = ""
    variant: str | None = None  # the variant actually found; by default the one asked for


def call_loader(loader: str, variant: str, root: Path, folders: list[str]) -> Found:
    """What the loader found, or a DataUnavailableError saying why not."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*folders, *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, "-m", "labjournal.data.loader", loader, variant],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise DataUnavailableError(f"loader {loader}: its Python exited with code {done.returncode}\n{tail}")
    result = json.loads(lines[-1][len(MARK) :])
    if "error" in result:
        where = ", ".join(folders)
        hint = f" (modules are imported from the project folder and its pythonpath: {where})"
        raise DataUnavailableError(result["error"] + (hint if result.get("import") else ""))
    found = result["found"]
    return Found(str(found["path"]), str(found.get("description") or ""), found.get("variant"))


def _run(loader: str, variant: str) -> dict[str, object]:
    module_name, _, function_name = loader.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        return {"error": f"loader {loader}: {exc}", "import": True}
    try:
        found = function(variant)
    except DataUnavailableError as exc:
        return {"error": str(exc)}
    except Exception as exc:  # the journal's code: any failure is reported, named
        return {
            "error": f"its loader {loader} failed for the '{variant}' variant: {type(exc).__name__}: {exc}"
        }
    if not isinstance(found, Found):
        return {
            "error": f"its loader {loader} returned {type(found).__name__}, not "
            "labjournal.kit.data.Found(path, description, variant)"
        }
    fields = asdict(found)
    fields["path"] = str(Path(found.path).resolve())
    return {"found": fields}


if __name__ == "__main__":  # run as `-m`, this module is __main__: `Found` is the imported module's
    from labjournal.data import loader as imported

    print(MARK + json.dumps(imported._run(sys.argv[1], sys.argv[2])), flush=True)
