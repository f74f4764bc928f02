"""The datasets a journal declares (`data:` in journal.yml), found and fingerprinted before anything runs.

Three kinds, and no engine code for any particular dataset:
- `path:` a file or folder, relative to the project or absolute;
- `url:` + `sha256:` a download, looked for first in the offline folder
  (`$LABJOURNAL_DATA/<name>/<file>`), else fetched once into the cache with pooch and verified;
- `loader: "module:function"` code of the journal's own (imported from the project's `pythonpath`
  folders, in a child Python: `labjournal.data.loader`) that finds the dataset for the profile's
  data variant and returns a `Found`.

Each resolved dataset's content fingerprint goes into the key of every run that declares it, so a
changed file re-runs exactly those runs. The notebook receives the resolved sources through the
environment (`labjournal.kit.data`); opened by hand, `resolve_by_hand` resolves them the same way.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from labjournal.data.fingerprint import FingerprintCache, cache_dir
from labjournal.data.loader import Found, call_loader

__all__ = ["DATA_DIR_ENV", "SOURCES_ENV", "DataSource", "Found", "Resolver", "resolve", "resolve_by_hand"]
from labjournal.errors import DataUnavailableError
from labjournal.names import DATA_DIR_ENV, SOURCES_ENV

if TYPE_CHECKING:
    from labjournal.plan.schema import Dataset


@dataclass(frozen=True)
class DataSource:
    name: str
    variant: str  # "sample" or "full" for loaders; "" for a file or a download
    description: str  # what a caption says, e.g. "MNIST digits, offline copy (2,000 train / 500 test)"
    root: str  # the absolute path of the file or folder
    fingerprint: str  # SHA-256 of the content
    url: str = ""  # where a `url:` dataset comes from (a Dask worker fetches it into its own cache)

    def to_json(self) -> dict:
        return asdict(self)


def data_dir(explicit: str | Path | None = None) -> Path | None:
    """The offline data folder: `--data-dir`, else `$LABJOURNAL_DATA`, else none."""
    chosen = explicit or os.environ.get(DATA_DIR_ENV)
    return Path(chosen).expanduser().resolve() if chosen else None


@dataclass(frozen=True)
class Resolver:
    """Resolves a journal's datasets: its project folder, import folders and offline folder."""

    root: Path
    pythonpath: tuple[Path, ...] = ()
    explicit_dir: str | Path | None = None

    def resolve(self, name: str, spec: Dataset, variant: str, cache: FingerprintCache) -> DataSource:
        if spec.path is not None:
            return self._path(name, spec, cache)
        if spec.url is not None:
            return self._url(name, spec, cache)
        return self._loader(name, spec, variant, cache)

    def _path(self, name: str, spec: Dataset, cache: FingerprintCache) -> DataSource:
        path = (self.root / str(spec.path)).resolve()
        if not path.exists():
            raise DataUnavailableError(
                f"dataset '{name}': {spec.path} does not exist (journal.yml: data.{name}.path)"
            )
        described = spec.description or str(spec.path)
        return DataSource(name, "", described, str(path), cache.of(path))

    def _url(self, name: str, spec: Dataset, cache: FingerprintCache) -> DataSource:
        expected = str(spec.sha256).lower()
        file = spec.file or Path(urlparse(str(spec.url)).path).name or name
        described = spec.description or file
        offline = data_dir(self.explicit_dir)
        if offline is not None and (offline / name / file).is_file():  # put there by hand: must match
            actual = cache.file(offline / name / file)
            if actual != expected:
                raise DataUnavailableError(
                    f"dataset '{name}': {offline / name / file} does not match journal.yml (data.{name}.sha256):\n"
                    f"  expected sha256 {expected}\n  actual   sha256 {actual}"
                )
            return DataSource(name, "", described, str(offline / name / file), expected, str(spec.url))
        cached = cache_dir() / "data" / name / file
        if cached.is_file() and cache.file(cached) == expected:  # downloaded before, unchanged
            return DataSource(name, "", described, str(cached), expected, str(spec.url))
        path = download(name, str(spec.url), expected, file, offline)  # (again, if the checksum changed)
        return DataSource(name, "", described, str(path), cache.file(path), str(spec.url))

    def _loader(self, name: str, spec: Dataset, variant: str, cache: FingerprintCache) -> DataSource:
        folders = [str(folder) for folder in (self.root, *self.pythonpath)]
        try:
            found = call_loader(str(spec.loader), variant, self.root, folders)
        except DataUnavailableError as exc:
            raise DataUnavailableError(f"dataset '{name}': {exc}") from exc
        path = Path(found.path)
        if not path.exists():
            raise DataUnavailableError(
                f"dataset '{name}': its loader {spec.loader} found {path}, which does not exist"
            )
        described = found.description or spec.description or name
        return DataSource(name, found.variant or variant, described, str(path), cache.of(path))


def download(name: str, url: str, sha256: str, file: str, offline: Path | None = None) -> Path:
    """Fetch a `url:` dataset into the cache (once; pooch verifies the checksum)."""
    import pooch

    target = cache_dir() / "data" / name
    try:
        got = pooch.retrieve(url, known_hash=f"sha256:{sha256}", fname=file, path=target, progressbar=False)
    except ValueError as exc:  # pooch's checksum mismatch names both hashes
        raise DataUnavailableError(f"dataset '{name}': the download from {url} was rejected: {exc}") from exc
    except Exception as exc:  # no network, a refused connection, a 404
        where = offline / name if offline else f"${DATA_DIR_ENV}/{name}"
        raise DataUnavailableError(
            f"dataset '{name}': could not download {url} ({type(exc).__name__}: {exc}).\n"
            f"  Offline, put the file at {where}/{file} (its sha256 must be {sha256})."
        ) from exc
    return Path(got)


def resolve(
    resolver: Resolver, specs: dict[str, Dataset], names: list[str], variant: str
) -> dict[str, DataSource]:
    cache = FingerprintCache()
    try:
        return {name: resolver.resolve(name, specs[name], variant, cache) for name in names}
    finally:
        cache.save()


def resolve_by_hand(name: str, start: Path | None = None) -> DataSource:
    """A dataset for a notebook opened outside `labjournal run`: resolved from the journal.yml
    above the notebook's folder, for the default profile's data variant."""
    from labjournal.plan.schema import read_plan_file

    folder = (start or Path.cwd()).resolve()
    plan_path = next(
        (f / "journal.yml" for f in (folder, *folder.parents) if (f / "journal.yml").is_file()), None
    )
    if plan_path is None:
        raise DataUnavailableError(f"dataset '{name}': no journal.yml in {folder} or above it")
    spec = read_plan_file(plan_path)
    if name not in spec.data:
        known = ", ".join(spec.data) or "none"
        raise DataUnavailableError(
            f"dataset '{name}' is not declared under data: in {plan_path} (declared: {known})"
        )
    root = plan_path.parent
    resolver = Resolver(root, tuple(root / p for p in spec.pythonpath))
    variant = spec.profiles[spec.default_profile].data if spec.default_profile in spec.profiles else "sample"
    return resolve(resolver, spec.data, [name], variant)[name]


def sources_to_env(sources: dict[str, DataSource]) -> str:
    return json.dumps({name: source.to_json() for name, source in sources.items()}, sort_keys=True)


def sources_from_env() -> dict[str, DataSource]:
    raw = os.environ.get(SOURCES_ENV)
    if not raw:
        return {}
    return {name: DataSource(**fields) for name, fields in json.loads(raw).items()}
