"""The datasets a notebook declares in journal.yml, as the engine found them.

    from labjournal.kit import data
    frame = pd.read_csv(data.path("points"))      # a `path:` or `url:` dataset: its file
    root = data.path("digits")                    # a `loader:` dataset: what its loader found

Under `labjournal run` the engine resolved and fingerprinted every declared dataset before the
notebook started and passes them in `LABJOURNAL_DATA_SOURCES`; opened by hand, the same
resolution runs here from the journal.yml above the notebook. Every call records the dataset's
description, variant and fingerprint in the run's metrics, so captions can name the data.

A `loader:` function (`"module:function"` in journal.yml) takes the profile's data variant and
returns `Found(path, description, variant)`.
"""

from __future__ import annotations

import os
from pathlib import Path

from labjournal.data.datasets import DataSource, Found, data_dir, resolve_by_hand, sources_from_env
from labjournal.data.fingerprint import cache_dir
from labjournal.errors import DataUnavailableError
from labjournal.kit import record
from labjournal.names import RUN_DIR_ENV

__all__ = ["DataSource", "DataUnavailableError", "Found", "cache_dir", "data_dir", "path", "source"]


def source(name: str) -> DataSource:
    """The resolved dataset `name` (path, description, variant, fingerprint), recorded in the run."""
    sources = sources_from_env()
    if name not in sources and os.environ.get(RUN_DIR_ENV):  # under `labjournal run`
        raise DataUnavailableError(
            f"dataset '{name}' is not declared for this notebook: add it to the notebook's `data:` "
            f"list in journal.yml, so that its content is part of the run's key (declared here: "
            f"{', '.join(sources) or 'none'})"
        )
    chosen = sources[name] if name in sources else resolve_by_hand(name)
    record.data(name, chosen.to_json())
    return chosen


def path(name: str) -> Path:
    """Where the dataset `name` is: its file or folder."""
    return Path(source(name).root)
