"""Readers of measured device data (``neuropcm.devices.fit.data``) and the refusal of bad
input by the readers and the fitters: one line each, naming the value."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from neuropcm.errors import DatasetError, ParameterError, UnitError, UnknownPresetError
from neuropcm.devices.fit import (FITTERS, Measurements, fit_accumulation, fit_programming,
                                  read_ensemble, read_measurements)

ACC = "device,pulse,conductance [uS]\n"


def acc_rows(n_dev=3, n_pulse=3):
    return "".join(f"d{d},{k},{0.1 + 0.9 * k + 0.01 * d}\n" for d in range(n_dev)
                   for k in range(n_pulse))


def drift_rows(times=(0, 10, 100), n_dev=12):
    return "".join(f"d{d},{t},{5 - 0.1 * i + 0.01 * d}\n" for d in range(n_dev)
                   for i, t in enumerate(times))


def prog_rows(targets, noise=True):
    return "".join(f"d{i},{t},{t + (0.05 * ((-1) ** i) if noise else 0)}\n"
                   for i, t in enumerate(targets))


def write(tmp_path, content, name="data.csv"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def h5(tmp_path, build):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        build(f)
    return path


def _no_units(f):
    f["device"] = np.arange(3)
    f["pulse"] = np.arange(3)
    f["conductance"] = np.ones(3)
    f["pulse"].attrs["units"] = ""


def _lengths(f):
    for k, n, u in (("device", 3, ""), ("pulse", 3, ""), ("conductance", 2, "uS")):
        f[k] = np.arange(n)
        f[k].attrs["units"] = u


def _two_d(f):
    f["device"] = np.arange(4)
    f["pulse"] = np.arange(4)
    f["conductance"] = np.ones((2, 2))
    for k in ("pulse", "conductance"):
        f[k].attrs["units"] = "uS" if k == "conductance" else ""


# (file content or builder, action, kwargs, error class, text the message must name)
CASES = {
    "empty file": (b"", "read", {}, DatasetError, "is empty"),
    "only comments": ("# nothing here\n\n", "read", {}, DatasetError, "no header"),
    "header without rows": (ACC, "read", {}, DatasetError, "no data rows"),
    "binary file": (b"PK\x03\x04\x00\x00\x14\x00binary", "read", {}, DatasetError, "binary"),
    "not utf-8": (b"device,pulse\n\xff\xfe,1\n", "read", {}, DatasetError, "0xff"),
    "unknown column": ("device,pulse,colour,conductance [uS]\nd,0,red,1\n", "read", {},
                       DatasetError, "'colour'"),
    "missing column": ("device,pulse\nd,0\n", "read", {"kind": "accumulation"}, DatasetError,
                       "['conductance']"),
    "duplicate column": ("device,pulse,pulse,conductance [uS]\nd,0,0,1\n", "read", {},
                         DatasetError, "'pulse' appears twice"),
    "column of another kind": ("device,pulse,time [s],conductance [uS]\nd,0,0,1\n", "read",
                               {"kind": "accumulation"}, DatasetError, "['time']"),
    "kind not inferable": ("device,conductance [uS]\nd,1\n", "read", {}, DatasetError,
                           "cannot tell the kind"),
    "bad header cell": ("device,pulse,conductance [uS\nd,0,1\n", "read", {}, DatasetError,
                        "'conductance [uS'"),
    "unknown unit": ("device,pulse,conductance [furlong]\nd,0,1\n", "read", {}, UnitError,
                     "'furlong'"),
    "wrong dimension": ("device,pulse,conductance [s]\nd,0,1\n", "read", {}, UnitError,
                        "'s' of time"),
    "missing unit": ("device,pulse,conductance\nd,0,1\n", "read", {}, UnitError,
                     "'conductance' needs a unit"),
    "unit on a count": ("device,pulse [s],conductance [uS]\nd,0,1\n", "read", {}, UnitError,
                        "'s' of time"),
    "target as resistance": ("device,target [kOhm],conductance [uS]\nd,5,1\n", "read", {},
                             UnitError, "'kOhm' of resistance"),
    "conductance and resistance": ("device,pulse,conductance [uS],resistance [kOhm]\nd,0,1,1\n",
                                   "read", {}, DatasetError, "both"),
    "short row": (ACC + "d0,0,0.1\nd0,1\n", "read", {}, DatasetError, "2 fields"),
    "not a number": (ACC + "d0,0,abc\n", "read", {}, DatasetError, "'abc'"),
    "nan": (ACC + "d0,0,nan\n", "read", {}, DatasetError, "nan"),
    "inf": (ACC + "d0,0,inf\n", "read", {}, DatasetError, "inf"),
    "negative conductance": (ACC + "d0,0,-0.5\n", "read", {}, DatasetError, "-5e-07"),
    "zero resistance": ("device,pulse,resistance [kOhm]\nd,0,0\n", "read", {}, DatasetError,
                        "resistance 0 kOhm"),
    "fractional pulse": (ACC + "d0,1.5,1\n", "read", {}, DatasetError, "pulse = 1.5"),
    "negative pulse": (ACC + "d0,-1,1\n", "read", {}, DatasetError, "pulse = -1 "),
    "zero amplitude": ("device,pulse,amplitude,conductance [uS]\nd,1,0,1\n", "read", {},
                       DatasetError, "amplitude 0 "),
    "empty device label": (ACC + ",0,1\n", "read", {}, DatasetError, "row 1"),
    "duplicate pulse": (ACC + "d0,0,0.1\nd0,1,1\nd0,1,1.1\n", "read", {}, DatasetError,
                        "'d0' has two rows with pulse 1 "),
    "duplicate time": ("device,time [s],conductance [uS]\nd,1,5\nd,1,4\n", "read",
                       {"kind": "drift"}, DatasetError, "two rows with time 1 "),
    "times not increasing": ("device,time [s],conductance [uS]\nd,100,5\nd,10,4\n", "read", {},
                             DatasetError, "(10 s in row 2 after 100 s)"),
    "negative time": ("device,time [s],conductance [uS]\nd,-1,5\n", "read", {}, DatasetError,
                      "time -1 s"),
    "temperature too high": ("device,temperature [K],conductance [uS]\nd,1000,5\n", "read", {},
                             DatasetError, "temperature 1000 K"),
    "unknown kind": (ACC + acc_rows(), "read", {"kind": "growth"}, DatasetError, "'growth'"),
    "hdf5 without units": (_no_units, "read", {}, DatasetError, "'conductance' has no 'units'"),
    "hdf5 ragged columns": (_lengths, "read", {}, DatasetError, "'conductance': 2"),
    "hdf5 two-dimensional": (_two_d, "read", {}, DatasetError, "shape (2, 2)"),
    # -- refused by the fitters
    "pulse gap": (ACC + "d0,0,0.1\nd0,1,1\nd0,3,2\n", "accumulation", {}, DatasetError,
                  "from pulse 1 to 3"),
    "too few steps": (ACC + acc_rows(3, 3), "accumulation", {}, DatasetError,
                      "6 SET steps on 3 devices"),
    "beyond g_max": (ACC + "d0,0,0.1\nd0,1,25\nd0,2,20\n", "accumulation", {}, DatasetError,
                     "2.5e-05 S exceeds g_max"),
    "wrong kind for the fitter": ("device,target [uS],conductance [uS]\nd,5,5.1\n",
                                  "accumulation", {}, DatasetError, "'target'"),
    "too few targets": ("device,target [uS],conductance [uS]\n" + prog_rows([5, 10] * 20),
                        "programming", {}, DatasetError, "2 distinct target(s)"),
    "no programming noise": ("device,target [uS],conductance [uS]\n"
                             + prog_rows(np.linspace(1, 20, 40), noise=False), "programming",
                             {}, DatasetError, "no programming noise"),
    "target above g_max": ("device,target [uS],conductance [uS]\n" + prog_rows([30] + [5] * 40),
                           "programming", {}, DatasetError, "target 3e-05 S"),
    "pulsed base for programming": ("device,target [uS],conductance [uS]\n"
                                    + prog_rows(np.linspace(1, 20, 40)), "programming",
                                    {"base": "nandakumar2018"}, ParameterError,
                                    "'nandakumar2018' is 'pulsed'"),
    "unknown base": (ACC + acc_rows(), "accumulation", {"base": "nonesuch"},
                     UnknownPresetError, "'nonesuch'"),
    "unknown form": ("device,target [uS],conductance [uS]\n" + prog_rows(np.linspace(1, 20, 40)),
                     "programming", {"form": "cubic"}, ParameterError, "'cubic'"),
    "ragged drift": ("device,time [s],conductance [uS]\n" + drift_rows() + "x,0,5\nx,10,4\n",
                     "drift", {}, DatasetError, "'x' was read at 2 times"),
    "too few drift times": ("device,time [s],conductance [uS]\n" + drift_rows((0, 10)),
                            "drift", {}, DatasetError, "2 read times are too few"),
    "too few drift devices": ("device,time [s],conductance [uS]\n" + drift_rows(n_dev=4),
                              "drift", {}, DatasetError, "4 devices are too few"),
    "one read per time": ("device,time [s],conductance [uS]\nd,0,5\nd,0,5.1\nd,10,5\n",
                          "read-noise", {}, DatasetError, "one read at time 10 s"),
    "one temperature": ("device,temperature [K],conductance [uS]\n"
                        + "".join(f"d{i},300,{i + 1}\n" for i in range(5)), "temperature", {},
                        DatasetError, "one temperature (300 K)"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_in_one_line_naming_the_value(tmp_path, name):
    content, action, kwargs, error, text = CASES[name]
    path = h5(tmp_path, content) if callable(content) else write(tmp_path, content)
    with pytest.raises(error) as info:
        if action == "read":
            read_measurements(path, **kwargs)
        else:
            FITTERS[action](path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert text in message, message


def test_missing_file_is_refused_naming_it(tmp_path):
    with pytest.raises(DatasetError) as info:
        read_measurements(tmp_path / "nope.csv")
    assert "nope.csv" in str(info.value) and "\n" not in str(info.value)


def test_measurements_of_another_kind_are_refused_by_a_fitter():
    data = Measurements.from_arrays("programming", device=np.arange(40),
                                    target=np.full(40, 5e-6), conductance=np.full(40, 5e-6))
    with pytest.raises(DatasetError, match="holds programming data, but this is a "
                                           "accumulation fit"):
        fit_accumulation(data)


def test_arrays_of_different_lengths_are_refused():
    with pytest.raises(DatasetError, match="column 'conductance' has 2 values but device has 3"):
        Measurements.from_arrays("accumulation", device=[0, 0, 0], pulse=[0, 1, 2],
                                 conductance=[1e-7, 1e-6])


def test_summary_file_with_an_unknown_curve_is_refused(tmp_path):
    path = write(tmp_path, "curve,pulse,g_max [uS],mean [uS],mean_se [uS]\nmedian,1,20,2,0.1\n")
    with pytest.raises(DatasetError, match="curve 'median'"):
        read_ensemble(path)


def test_csv_units_comments_and_resistance_are_converted(tmp_path):
    path = write(tmp_path, "# a comment\ndevice,pulse,resistance [kOhm]\n"
                           "# another\nA,0,100\nA,1,50\nB,0,200\n")
    m = read_measurements(path)
    assert m.kind == "accumulation"
    assert m.device_names == ("A", "B")
    np.testing.assert_allclose(m["conductance"], [1e-5, 2e-5, 5e-6], rtol=1e-12)
    assert m.units["conductance"] == "kOhm"
    path = write(tmp_path, "device,time [ms],conductance [nS]\nA,0,5\nA,1,4\nA,1,4.1\n")
    m = read_measurements(path)
    assert m.kind == "read-noise"  # a repeated (device, time) pair
    np.testing.assert_allclose(m["time"], [0, 1e-3, 1e-3])
    np.testing.assert_allclose(m["conductance"], [5e-9, 4e-9, 4.1e-9])


def test_hdf5_and_csv_give_the_same_measurements(tmp_path):
    csv_path = write(tmp_path, "device,target [uS],conductance [uS]\n"
                               + prog_rows(np.linspace(1, 20, 40)))
    a = read_measurements(csv_path)
    path = tmp_path / "same.h5"
    with h5py.File(path, "w") as f:
        f["device"] = np.array([f"d{i}".encode() for i in range(40)])
        f["target"] = a["target"] * 1e6
        f["target"].attrs["units"] = "uS"
        f["conductance"] = a["conductance"] * 1e9
        f["conductance"].attrs["units"] = "nS"
    b = read_measurements(path)
    assert b.kind == a.kind == "programming"
    assert b.device_names == a.device_names
    for k in ("target", "conductance"):
        np.testing.assert_allclose(b[k], a[k], rtol=1e-12)
    fit = fit_programming(b, "joshi2020", check=False)
    assert set(fit.values) == {"prog_p2", "prog_p1", "prog_p0"}


def test_ragged_accumulation_data_are_fitted(tmp_path):
    """Devices with different pulse counts: every consecutive pair is a step."""
    rng = np.random.default_rng(1)
    rows = [ACC]
    for d in range(60):
        g = 0.1
        for k in range(int(rng.integers(3, 12))):
            rows.append(f"d{d},{k},{g:.6f}\n")
            g += abs(rng.normal(0.6, 0.3))
    fit = fit_accumulation(write(tmp_path, "".join(rows)), check=False)
    assert fit.n_devices == 60 and fit.n_points == sum(r.count("\n") for r in rows[1:])
