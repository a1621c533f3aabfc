"""Issue 9: the crossbar's settings are one frozen, validated CrossbarConfig; drift
compensation is objects with one interface (named ones and a user's subclass)."""

import dataclasses

import numpy as np
import pytest

from neuropcm.crossbar import (COMPENSATIONS, ColumnCompensation, CompensationConfig, Crossbar,
                               CrossbarConfig, DriftCompensation, GlobalCompensation,
                               LRSReferenceCompensation, PeripheryConfig, ThresholdRefresh,
                               make_config)
from neuropcm.errors import ParameterError, UnitError

W = np.arange(12.0).reshape(3, 4) - 5.5


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("options,match", [
    ({"adc_bits": 0}, r"PeripheryConfig\.adc_bits = 0 is out of range: it must be >= 1"),
    ({"dac_bits": 1}, r"PeripheryConfig\.dac_bits = 1 is out of range: it must be >= 2"),
    ({"devices_per_weight": 2.5}, r"CrossbarConfig\.devices_per_weight = 2\.5 must be a whole"),
    ({"devices_per_weight": 0}, r"CrossbarConfig\.devices_per_weight = 0 is out of range"),
    ({"bits": 17}, r"CrossbarConfig\.bits = 17 is out of range: it must be <= 16"),
    ({"g_target": -1e-6}, r"CrossbarConfig\.g_target = -1e-06 S is out of range: it must be > 0"),
    ({"dtype": "float16"}, r"CrossbarConfig\.dtype = 'float16' is not one of"),
    ({"update_mode": "magic"}, r"UpdateConfig\.update_mode = 'magic' is not one of"),
    ({"adc_policy": "sometimes"}, r"PeripheryConfig\.adc_policy = 'sometimes' is not one of"),
    ({"drift_compensation": "magic"}, r"CompensationConfig\.drift_compensation = 'magic'; "
                                      r"use one of \[None, 'global', 'column', 'lrs'\]"),
    ({"refresh": "never"}, r"unknown refresh rule 'never'"),
    ({"read_noise": "yes"}, r"CrossbarConfig\.read_noise = 'yes' must be true or false"),
    ({"calibration_size": 0}, r"CompensationConfig\.calibration_size = 0 is out of range"),
    ({"epsilon": 0.0}, r"UpdateConfig\.epsilon = 0\.0 is out of range: it must be > 0"),
    ({"adc_bits": 4, "adc_range": 2.0, "adc_policy": "calibrate"},
     r"adc_policy='calibrate' sets the ADC range itself, but adc_range = 2\.0"),
    ({"drift_compensation": GlobalCompensation(8), "calibration_size": 32},
     r"\['calibration_size'\] set the named compensations only"),
    ({"device_overrides": [1]}, r"CrossbarConfig\.device_overrides = \[1\] must be a table"),
])
def test_bad_values_are_named_in_one_line(options, match):
    with pytest.raises(ParameterError, match=match) as e:
        Crossbar(W, "ideal", seed=0, **options)
    assert "\n" not in str(e.value)


def test_unknown_option_lists_the_known_ones_and_device_is_renamed():
    with pytest.raises(ParameterError, match=r"unknown Crossbar option\(s\) \['adc_bitz'\]; "
                                             r"known options: \[.*'adc_bits'.*\]") as e:
        Crossbar(W, "ideal", adc_bitz=4)
    for name in ("devices_per_weight", "drift_compensation", "refresh", "pulse_length",
                 "dac_range", "temperature"):
        assert repr(name) in str(e.value)
    with pytest.raises(ParameterError, match=r"device=\.\.\.\) is now Crossbar\(preset="):
        Crossbar(W, device="ideal")
    with pytest.raises(ParameterError, match="unknown setting"):
        Crossbar(W, "ideal", config={"periphery": {"adcbits": 3}})


def test_wrong_units_and_quantities():
    import brian2

    xb = Crossbar(W, "joshi2020", seed=0, g_target=20 * brian2.usiemens, temperature="310*kelvin",
                  tol="0.1*usiemens", device_overrides={"t0": 10 * brian2.second})
    c = xb.config
    assert c.g_target == pytest.approx(20e-6) and c.temperature == 310.0
    assert c.tol == pytest.approx(1e-7) and c.device_overrides == {"t0": 10.0}
    assert xb.params.t0 == 10.0 and xb.device_arrays()["G_plus"].temperature == 310.0
    with pytest.raises(UnitError):
        Crossbar(W, "joshi2020", g_target=20 * brian2.ms)


def test_config_is_frozen_and_flat_keywords_equal_the_sections():
    a = Crossbar(W, "joshi2020", seed=4, adc_bits=6, dac_bits=5, drift_compensation="column",
                 calibration_size=8, update_mode="mixed", dtype=np.float32)
    cfg = CrossbarConfig(periphery=PeripheryConfig(adc_bits=6, dac_bits=5),
                         compensation={"drift_compensation": "column", "calibration_size": 8},
                         update={"update_mode": "mixed"}, dtype="float32")
    b = Crossbar(W, "joshi2020", seed=4, config=cfg)
    assert a.config == b.config == cfg
    assert a.config.periphery.adc_bits == 6 and a.update_mode == "mixed"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.config.dtype = "float64"
    a.at(1e3)
    b.at(1e3)
    x = np.linspace(-1, 1, 4)
    np.testing.assert_array_equal(a @ x, b @ x)
    # keywords replace the config's values; the config object itself is unchanged
    c = Crossbar(W, "joshi2020", seed=4, config=cfg, adc_bits=4)
    assert c.config.periphery.adc_bits == 4 and c.config.periphery.dac_bits == 5
    assert cfg.periphery.adc_bits == 6


def test_config_dict_round_trip_and_objects():
    rule = ThresholdRefresh(0.8, 0.3)
    cfg = make_config(None, {"drift_compensation": ColumnCompensation(calibration_size=5),
                             "refresh": rule, "w_max": 2.0})
    d = cfg.to_dict()
    assert d["compensation"]["drift_compensation"] == {"name": "column", "calibration_size": 5}
    assert d["update"]["refresh"] == {"name": "threshold", **vars(rule)}
    back = CrossbarConfig.from_dict(d)
    assert back.to_dict() == d
    assert back.compensation.drift_compensation == ColumnCompensation(5)
    assert vars(back.update.refresh) == vars(rule)
    # a callable refresh is kept (wrapped) but cannot be written: files never hold code
    cfg2 = make_config(cfg, {"refresh": lambda gp, gm, g: gp > gm})
    with pytest.raises(ParameterError, match="cannot be saved"):
        cfg2.to_dict()


def test_refresh_rule_setter_keeps_the_config():
    xb = Crossbar(np.zeros((2, 3)), "ideal", seed=0, w_max=1.0)
    assert isinstance(xb.refresh_rule, ThresholdRefresh)
    assert xb.config.update.refresh == "threshold"
    xb.refresh_rule = None
    assert xb.refresh_rule is None and xb.config.update.refresh is None
    with pytest.raises(ParameterError, match="refresh"):
        xb.refresh_rule = 42
    assert xb.refresh_rule is None


# ------------------------------------------------------------------ compensation objects
def test_names_map_to_the_compensation_classes():
    a = Crossbar(W, "joshi2020", seed=0, drift_compensation="global", calibration_size=7)
    assert type(a.compensation) is GlobalCompensation
    assert a.compensation.calibration_size == 7 and a.calibration_inputs().shape == (4, 7)
    b = Crossbar(W, "joshi2020", seed=0, drift_compensation="column")
    assert type(b.compensation) is ColumnCompensation
    c = Crossbar(W, "joshi2020", seed=0, drift_compensation="lrs", lrs_devices=9)
    assert type(c.compensation) is LRSReferenceCompensation
    assert c.device_arrays()["lrs"].shape == (9,)
    # the object form builds the same crossbar as the name (same random streams)
    d = Crossbar(W, "joshi2020", seed=0, drift_compensation=LRSReferenceCompensation(9))
    for t in (1e2, 1e5):
        c.at(t)
        d.at(t)
        assert c.lrs_factor() == d.lrs_factor()
    assert Crossbar(W, "joshi2020", seed=0).compensation is None
    assert set(COMPENSATIONS) == {"global", "column", "lrs"}


NU, T0 = 0.06, 20.0
EXACT = {"prog_p2": 0.0, "prog_p1": 0.0, "prog_p0": 0.0, "q_a": 0.0, "set_step_std": 0.0,
         "nu_mean_min": NU, "nu_mean_max": NU, "nu_std_min": 0.0, "nu_std_max": 0.0}


class KnownDrift(DriftCompensation):
    """A user's compensation: undo a drift of known exponent since programming,
    ``f = ((t - t_p + t0)/t0)^nu``; records the crossbar's calls."""

    name = "known_drift"

    def __init__(self, nu, t0):
        self.nu, self.t0 = nu, t0
        self.calls = []
        self.t_p = None

    def settings(self):
        return {"nu": self.nu, "t0": self.t0}

    def calibrate(self, xb):
        self.calls.append(("calibrate", xb.time))
        self.t_p = xb.time

    def on_write(self, xb):
        self.calls.append(("on_write", xb.time))

    def factor(self, xb, transpose):
        self.calls.append(("factor", xb.time, transpose))
        return ((xb.time - self.t_p + self.t0) / self.t0) ** self.nu

    def state_dict(self, xb):
        return {"t_p": (self.t_p, "s")}

    def load_state(self, xb, state):
        self.t_p = float(state["t_p"][0])


def test_a_user_compensation_subclass(tmp_path, monkeypatch):
    """Deterministic devices (no programming or read noise, one nu): every weight reads
    ``W d(t)``, ``d(t) = ((t + t0)/t0)^-nu``, so the user's factor restores W exactly."""
    comp = KnownDrift(NU, T0)
    xb = Crossbar(W, "joshi2020", seed=0, drift_compensation=comp, device_overrides=EXACT,
                  refresh=None)
    assert xb.compensation == comp and xb.compensation is not comp  # the crossbar's copy
    assert comp.calls == []
    mine = xb.compensation
    assert mine.calls == [("calibrate", 0.0)]
    t = 1e5
    xb.at(t)
    x, u = np.linspace(-1, 1, 4), np.linspace(0.5, 2, 3)
    d = ((t + T0) / T0) ** -NU
    assert d < 0.6  # a real drift to undo
    np.testing.assert_allclose(xb @ x, W @ x, rtol=1e-9)
    np.testing.assert_allclose(xb @ x, W @ x, rtol=1e-9)
    np.testing.assert_allclose(xb.H @ u, W.T @ u, rtol=1e-9)
    np.testing.assert_allclose(xb.read(x, compensate=False), d * (W @ x), rtol=1e-9)
    # one factor per (time, write, direction), computed when first needed
    assert mine.calls[1:] == [("factor", t, False), ("factor", t, True)]
    xb.update(np.eye(4)[0], np.eye(3)[0], 2 * xb.epsilon)
    xb @ x
    assert mine.calls[3:] == [("on_write", t), ("factor", t, False)]
    # an unregistered class is not written to files (they never hold code) ...
    with pytest.raises(ParameterError, match="not a registered one .* cannot be saved"):
        xb.save(tmp_path / "a.h5")
    assert not (tmp_path / "a.h5").exists()
    # ... a registered one is, with its state, and reads back exactly
    monkeypatch.setitem(COMPENSATIONS, "known_drift", KnownDrift)
    yb = Crossbar.load(xb.save(tmp_path / "a.h5"))
    assert yb.compensation == comp and yb.compensation.t_p == 0.0
    xb.at(2e5)
    yb.at(2e5)
    np.testing.assert_array_equal(xb @ x, yb @ x)


def test_base_class_needs_a_factor():
    class Nothing(DriftCompensation):
        pass

    xb = Crossbar(W, "joshi2020", seed=0, drift_compensation=Nothing())
    with pytest.raises(NotImplementedError, match="Nothing must implement factor"):
        xb @ np.ones(4)
    assert CompensationConfig(drift_compensation=Nothing()).drift_compensation == Nothing()
