"""The data set cache: miss, hit, configuration change and corruption detection."""
import json
import zipfile

import numpy as np
import pytest

from physolve.pde.datasets import DatasetCorrupted, load_or_generate
from physolve.pde.families import DarcyFamily


class CountingDarcy(DarcyFamily):
    """Counts classical solves, so a test can tell a cache hit from a regeneration."""

    solves = 0

    def solve(self, inputs):
        CountingDarcy.solves += 1
        return super().solve(inputs)


@pytest.fixture
def family():
    CountingDarcy.solves = 0
    return CountingDarcy(n=8)


def only_file(cache):
    files = list(cache.glob("*.npz"))
    assert len(files) == 1, files
    return files[0]


def test_miss_generates_and_hit_reads(tmp_path, family):
    first = load_or_generate(family, 6, 2, seed=3, cache_dir=tmp_path, progress=False)
    assert CountingDarcy.solves == 8
    path = only_file(tmp_path)
    assert path.name.startswith("darcy-")
    second = load_or_generate(family, 6, 2, seed=3, cache_dir=tmp_path, progress=False)
    assert CountingDarcy.solves == 8                       # read, not solved again
    assert np.array_equal(first.inputs["a"], second.inputs["a"])
    assert np.array_equal(first.outputs["u"], second.outputs["u"])
    x, y = second.split("test")
    assert x["a"].shape == (2, 8, 8) and y["u"].shape == (2, 8, 8)
    # the stored solution is the solver's solution of the stored coefficient
    assert np.allclose(family.solve({"a": x["a"][1]})["u"], y["u"][1])


def test_config_change_is_a_miss(tmp_path, family):
    load_or_generate(family, 4, 1, seed=0, cache_dir=tmp_path, progress=False)
    load_or_generate(family, 4, 1, seed=1, cache_dir=tmp_path, progress=False)
    load_or_generate(CountingDarcy(n=8, tau=4.0), 4, 1, seed=0, cache_dir=tmp_path, progress=False)
    assert CountingDarcy.solves == 15
    assert len(list(tmp_path.glob("*.npz"))) == 3


def test_truncated_file_is_detected_and_regenerated(tmp_path, family):
    ref = load_or_generate(family, 4, 1, seed=0, cache_dir=tmp_path, progress=False)
    path = only_file(tmp_path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetCorrupted, match="cannot be read"):
        load_or_generate(family, 4, 1, seed=0, cache_dir=tmp_path, progress=False,
                         on_corrupt="error")
    with pytest.warns(RuntimeWarning, match="regenerating"):
        again = load_or_generate(family, 4, 1, seed=0, cache_dir=tmp_path, progress=False)
    assert np.array_equal(again.outputs["u"], ref.outputs["u"])
    load_or_generate(family, 4, 1, seed=0, cache_dir=tmp_path, progress=False, on_corrupt="error")


def rewrite(path, change):
    """Rewrite a valid .npz with one array or the metadata changed (a well-formed file whose
    content no longer matches its checksum or hash)."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("change, message", [
    (lambda arr: arr["output_u"].__setitem__((0, 3, 3), 1.0), "checksum"),
    (lambda arr: arr["output_u"].__setitem__((0, 3, 3), np.nan), "non-finite"),
    (lambda arr: arr.__setitem__("input_a", arr["input_a"][:, :4]), "shape"),
    (lambda arr: arr.__setitem__("input_a", arr["input_a"].astype(np.float32)), "dtype"),
    (lambda arr: arr.pop("output_u"), "arrays"),
    (lambda arr: arr.__setitem__("meta", np.array(json.dumps(
        {**json.loads(str(arr["meta"])), "hash": "0" * 64}))), "hash"),
])
def test_tampered_content_is_detected(tmp_path, family, change, message):
    load_or_generate(family, 4, 1, seed=0, cache_dir=tmp_path, progress=False)
    path = only_file(tmp_path)
    rewrite(path, change)
    with pytest.raises(DatasetCorrupted, match=message):
        load_or_generate(family, 4, 1, seed=0, cache_dir=tmp_path, progress=False,
                         on_corrupt="error")


def test_file_is_a_zip_with_config(tmp_path, family):
    load_or_generate(family, 2, 1, seed=0, cache_dir=tmp_path, progress=False)
    path = only_file(tmp_path)
    assert zipfile.is_zipfile(path)
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
    assert meta["config"]["family"]["grf"]["tau"] == 3.0
    assert meta["config"]["n_train"] == 2 and len(meta["hash"]) == 64
    assert not list(tmp_path.glob("*.tmp"))


def test_default_cache_dir_follows_environment(tmp_path, monkeypatch, family):
    monkeypatch.setenv("PHYSOLVE_CACHE", str(tmp_path / "c"))
    load_or_generate(family, 2, 1, seed=0, progress=False)
    assert len(list((tmp_path / "c").glob("*.npz"))) == 1


@pytest.mark.parametrize("kw, field", [({"n_train": -1}, "n_train"),
                                       ({"on_corrupt": "ignore"}, "on_corrupt")])
def test_bad_arguments_fail_early(tmp_path, family, kw, field):
    args = {"n_train": 2, "n_test": 1, "seed": 0, "cache_dir": tmp_path, **kw}
    with pytest.raises(ValueError, match=field):
        load_or_generate(family, **args)
