"""Where this journal's two datasets come from: the loaders `journal.yml` names under `data:`.

Each loader gets the profile's data variant ("sample" or "full") and returns a
`labjournal.kit.data.Found`: the folder or file, a description for captions, and the variant it
found. The engine fingerprints what the loader points at, so the data's content is in every run's
cache key. Search order:
1. the offline data folder: `--data-dir` or `$LABJOURNAL_DATA`;
2. the cache folder: `$LABJOURNAL_CACHE`, else ~/.cache/labjournal;
3. a download into the cache folder, with the dataset's real downloader.
"""

from __future__ import annotations

import struct
from pathlib import Path

from labjournal.kit.data import DataUnavailableError, Found, cache_dir, data_dir

DATA_DIR_ENV = "LABJOURNAL_DATA"

# --------------------------------------------------------------------------------------------
# Fashion-MNIST

_FMNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_FMNIST_FULL_TRAIN = 60_000


def _idx_count(path: Path) -> int:
    with open(path, "rb") as handle:
        header = handle.read(8)
    return struct.unpack(">I", header[4:8])[0]


def _fmnist_root_ok(root: Path) -> bool:
    raw = root / "FashionMNIST" / "raw"
    return all((raw / name).is_file() for name in _FMNIST_FILES)


def _fmnist_source(root: Path) -> Found:
    raw = root / "FashionMNIST" / "raw"
    n_train = _idx_count(raw / "train-images-idx3-ubyte")
    n_test = _idx_count(raw / "t10k-images-idx3-ubyte")
    variant = "full" if n_train >= _FMNIST_FULL_TRAIN else "sample"
    label = "Fashion-MNIST" if variant == "full" else "Fashion-MNIST offline sample"
    # The raw folder, not the root: a root may be the whole offline folder (the full set there);
    # torchvision's root is two folders up (see course.data.fashion_mnist).
    return Found(raw, f"{label} ({n_train:,} train / {n_test:,} test)", variant)


def fashion_mnist(want: str) -> Found:
    """The torchvision root holding FashionMNIST/raw: the offline sample, or the full set."""
    candidates: list[Path] = []
    base = data_dir()
    if base is not None:
        sample = [base / "fashion-mnist-sample"]
        full = [base / "fashion-mnist", base]
        candidates += (full + sample) if want == "full" else (sample + full)
    cache = cache_dir() / "fashion-mnist"
    candidates.append(cache)
    for root in candidates:
        if _fmnist_root_ok(root):
            source = _fmnist_source(root)
            if want == "full" and source.variant != "full":
                continue
            return source
    try:
        from torchvision.datasets import FashionMNIST

        FashionMNIST(root=str(cache), train=True, download=True)
        FashionMNIST(root=str(cache), train=False, download=True)
    except Exception as exc:  # any network or disk failure ends the same way for the user
        looked = ", ".join(str(path) for path in candidates)
        raise DataUnavailableError(
            f"Fashion-MNIST ({want} variant) is not on disk and could not be downloaded ({exc}).\n"
            f"  Looked in: {looked}\n"
            f"  Point {DATA_DIR_ENV} at a folder holding 'fashion-mnist-sample/' or a "
            f"torchvision root with FashionMNIST/raw, or run where the download can reach the internet."
        ) from exc
    return _fmnist_source(cache)


# --------------------------------------------------------------------------------------------
# Austin Animal Center outcomes (City of Austin open data)

AUSTIN_DOWNLOAD_URL = "https://data.austintexas.gov/api/views/9t4d-g238/rows.csv?accessType=DOWNLOAD"
AUSTIN_FOLDER = "austin-animal-center"
# The city's export name, then the names of the older public copies (Kaggle and others).
AUSTIN_FILE_NAMES = (
    "Austin_Animal_Center_Outcomes.csv",
    "aac_shelter_outcomes.csv",
    "aac_intakes_outcomes.csv",
)
_AUSTIN_DATE_COLUMNS = ("Outcome Date", "DateTime", "datetime", "outcome_datetime")


def _austin_csv(folder: Path) -> Path | None:
    for name in AUSTIN_FILE_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def _austin_source(path: Path, variant: str) -> Found:
    import pandas as pd

    header = pd.read_csv(path, nrows=0).columns
    date_column = next((c for c in _AUSTIN_DATE_COLUMNS if c in header), None)
    frame = pd.read_csv(path, usecols=[date_column] if date_column else [header[0]])
    span = ""
    if date_column:
        dates = pd.to_datetime(frame[date_column], errors="coerce", format="mixed").dropna()
        if len(dates):
            span = f", outcomes {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}"
    label = "Austin Animal Center outcomes" + (", offline copy" if variant == "sample" else "")
    return Found(path, f"{label} ({len(frame):,} rows{span})", variant)


def austin_outcomes(want: str) -> Found:
    """A local CSV in either public schema, else the city's current export (downloaded once).

    The offline copy in the data directory is the "sample" variant (a one-year window); "full"
    prefers the city's current export, cached under the cache directory."""
    base = data_dir()
    local = _austin_csv(base / AUSTIN_FOLDER) if base is not None else None
    cached = cache_dir() / AUSTIN_FOLDER / AUSTIN_FILE_NAMES[0]
    if want == "sample" and local is not None:
        return _austin_source(local, "sample")
    if cached.is_file():
        return _austin_source(cached, "full")
    try:
        import urllib.request

        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".part")
        with urllib.request.urlopen(AUSTIN_DOWNLOAD_URL, timeout=60) as response:
            partial.write_bytes(response.read())
        partial.replace(cached)  # never leave a half-downloaded CSV where the next run finds it
        return _austin_source(cached, "full")
    except Exception as exc:  # any network or disk failure ends the same way for the user
        looked = ", ".join(str(p) for p in ([base / AUSTIN_FOLDER] if base else []) + [cached.parent])
        raise DataUnavailableError(
            f"The Austin Animal Center outcomes ({want} variant) are not on disk and could not be "
            f"downloaded from {AUSTIN_DOWNLOAD_URL} ({exc}).\n"
            f"  Looked in: {looked} (for {', '.join(AUSTIN_FILE_NAMES)})\n"
            f"  Point {DATA_DIR_ENV} at a folder holding '{AUSTIN_FOLDER}/' with one of "
            f"those CSV files, or run where the download can reach the internet."
        ) from exc
