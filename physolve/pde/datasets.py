"""Generated data sets of a problem family, cached on disk.

A data set is stored as one .npz file named by the SHA-256 of its generating configuration
(family, sizes, seed), together with that configuration, the hash and a checksum of every array.
Asking for a data set with another configuration gives another file (a cache miss, so it is
generated); a file that fails validation on load -- unreadable, wrong shapes or dtype, non-finite
values, a stored hash or checksum that does not match -- is reported and regenerated (or raises,
with `on_corrupt="error"`). Files are written to a temporary name and renamed, so an interrupted
generation never leaves a half-written file under the final name. Nothing is written at import.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

FORMAT_VERSION = 1
ON_CORRUPT = ("regenerate", "error")


class DatasetCorrupted(RuntimeError):
    """A cached data set file failed validation."""


@dataclass
class GridDataset:
    """Samples of a family: `inputs` and `outputs` map field names to arrays (N, *grid);
    the first `n_train` samples are the training set, the rest the test set."""

    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    n_train: int
    config: dict
    path: Path | None = None

    @property
    def n_test(self) -> int:
        return len(next(iter(self.inputs.values()))) - self.n_train

    def split(self, part: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(inputs, outputs) of "train" or "test"."""
        if part not in ("train", "test"):
            raise ValueError(f"part must be 'train' or 'test', got {part!r}")
        s = slice(0, self.n_train) if part == "train" else slice(self.n_train, None)
        return ({k: v[s] for k, v in self.inputs.items()},
                {k: v[s] for k, v in self.outputs.items()})


def default_cache_dir() -> Path:
    """$PHYSOLVE_CACHE, else $XDG_CACHE_HOME/physolve, else ~/.cache/physolve."""
    if os.environ.get("PHYSOLVE_CACHE"):
        return Path(os.environ["PHYSOLVE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "physolve"


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def arrays_checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of the arrays."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{arr.dtype.str}:{arr.shape}".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def dataset_config(family, n_train: int, n_test: int, seed: int) -> dict:
    return {"format": FORMAT_VERSION, "family": family.config(), "n_train": n_train,
            "n_test": n_test, "seed": seed}


def generate(family, n_train: int, n_test: int, seed: int, progress: bool = True) -> GridDataset:
    """Draw the inputs and solve every sample with the family's classical solver."""
    n = n_train + n_test
    inputs = family.sample_inputs(n, seed)
    outputs = {name: np.empty((n, *family.grid.shape)) for name in family.outputs}
    for i in tqdm(range(n), desc=f"generating {family.name} data", disable=not progress,
                  file=sys.stderr, mininterval=1.0):
        solved = family.solve({k: v[i] for k, v in inputs.items()})
        for name in family.outputs:
            outputs[name][i] = solved[name]
    return GridDataset(inputs, outputs, n_train, dataset_config(family, n_train, n_test, seed))


def save(dataset: GridDataset, path: Path) -> None:
    arrays = {**{f"input_{k}": v for k, v in dataset.inputs.items()},
              **{f"output_{k}": v for k, v in dataset.outputs.items()}}
    meta = {"config": dataset.config, "hash": config_hash(dataset.config),
            "checksum": arrays_checksum(arrays)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dataset.path = path


def load(path: Path, family, config: dict) -> GridDataset:
    """Read and validate a cached data set; raises DatasetCorrupted saying what is wrong."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in data.files if k != "meta"}
    except Exception as exc:  # zip, CRC, JSON or missing-key errors all mean an unusable file
        raise DatasetCorrupted(f"{path} cannot be read ({type(exc).__name__}: {exc})") from exc
    if meta.get("config") != config or meta.get("hash") != config_hash(config):
        raise DatasetCorrupted(f"{path}: stored configuration or hash does not match "
                               f"{config_hash(config)[:16]}")
    n = config["n_train"] + config["n_test"]
    expected = [f"input_{k}" for k in family.input_fields] + [f"output_{k}" for k in family.outputs]
    if sorted(arrays) != sorted(expected):
        raise DatasetCorrupted(f"{path}: arrays {sorted(arrays)}, expected {sorted(expected)}")
    for name, arr in arrays.items():
        if arr.shape != (n, *family.grid.shape) or arr.dtype != np.float64:
            raise DatasetCorrupted(f"{path}: {name} has shape {arr.shape} and dtype {arr.dtype}, "
                                   f"expected {(n, *family.grid.shape)} float64")
        if not np.all(np.isfinite(arr)):
            raise DatasetCorrupted(f"{path}: {name} has non-finite values")
    if arrays_checksum(arrays) != meta.get("checksum"):
        raise DatasetCorrupted(f"{path}: array checksum does not match the stored one")
    return GridDataset({k: arrays[f"input_{k}"] for k in family.input_fields},
                       {k: arrays[f"output_{k}"] for k in family.outputs},
                       config["n_train"], config, path)


def load_or_generate(family, n_train: int, n_test: int, seed: int = 0,
                     cache_dir: str | os.PathLike | None = None, progress: bool = True,
                     on_corrupt: str = "regenerate") -> GridDataset:
    """The data set of `family` with these sizes and seed, from the cache when it is there.

    cache_dir: where the .npz files live (default: `default_cache_dir()`).
    on_corrupt: "regenerate" (warn, then generate and overwrite) or "error".
    """
    for key, val in {"n_train": n_train, "n_test": n_test, "seed": seed}.items():
        if not isinstance(val, int) or val < 0:
            raise ValueError(f"dataset: {key} must be an integer >= 0, got {val!r}")
    if on_corrupt not in ON_CORRUPT:
        raise ValueError(f"dataset: on_corrupt must be one of {ON_CORRUPT}, got {on_corrupt!r}")
    config = dataset_config(family, n_train, n_test, seed)
    path = Path(cache_dir or default_cache_dir()) / f"{family.name}-{config_hash(config)[:20]}.npz"
    if path.exists():
        try:
            return load(path, family, config)
        except DatasetCorrupted as exc:
            if on_corrupt == "error":
                raise
            warnings.warn(f"{exc}; regenerating it", RuntimeWarning, stacklevel=2)
    dataset = generate(family, n_train, n_test, seed, progress)
    save(dataset, path)
    return dataset
