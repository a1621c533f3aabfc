"""Issue 9: one seed scheme for device arrays, and presets that keep their identity."""

import copy
import dataclasses
import pickle

import numpy as np
import pytest
from brian2 import usiemens

from neuropcm import PCMArray
from neuropcm.devices import PRESETS, ProgrammedStateParams, PulsedParams, get_preset, with_preset
from neuropcm.errors import ParameterError, UnknownPresetError
from neuropcm.random import rng, seed_sequence


# ------------------------------------------------------------------ point 3: seeds
def _reset_levels(xi):
    """nandakumar2018 right after construction: clip(0.1 uS + 0.01 uS xi, 0.1 uS, 20 uS)."""
    return np.clip(0.1e-6 + 0.01e-6 * xi, 0.1e-6, 20e-6)


def test_int_seed_is_numpys_default_stream():
    """seed=s draws from numpy.random.default_rng(s) (= neuropcm.random.rng(s), path ())."""
    a = PCMArray(1000, "nandakumar2018", seed=7)
    xi = np.random.default_rng(7).standard_normal(1000)
    np.testing.assert_array_equal(a.conductance, _reset_levels(xi))
    assert a.seed == 7


def test_seed_sequence_and_generator_are_used_as_given():
    ss = np.random.SeedSequence(11, spawn_key=(3, 5))
    a = PCMArray(400, "nandakumar2018", seed=ss)
    np.testing.assert_array_equal(
        a.conductance, _reset_levels(np.random.default_rng(ss).standard_normal(400)))
    assert a.seed is ss
    g = np.random.default_rng(12)
    b = PCMArray(400, "nandakumar2018", seed=g)
    assert b.rng is g and b.seed is None  # not copied: the array's draws advance it
    np.testing.assert_array_equal(
        b.conductance, _reset_levels(np.random.default_rng(12).standard_normal(400)))
    after = np.random.default_rng(12)
    after.standard_normal(400)
    assert g.standard_normal() == after.standard_normal()


def test_derived_streams_from_the_run_seed():
    """Engines pass rng(run_seed, *path) or seed_sequence(run_seed, *path): the same stream."""
    def run(seed):
        a = PCMArray((20, 30), "joshi2020", seed=seed)
        a.program(np.full((20, 30), 10e-6))
        a.advance(100.0)
        return a.read()

    ref = run(rng(5, "crossbar", "G_plus"))
    np.testing.assert_array_equal(ref, run(seed_sequence(5, "crossbar", "G_plus")))
    np.testing.assert_array_equal(ref, run(rng(5, "crossbar", "G_plus")))
    assert not np.array_equal(ref, run(rng(5, "crossbar", "G_minus")))
    assert not np.array_equal(ref, run(rng(6, "crossbar", "G_plus")))


@pytest.mark.parametrize("seed", [2.5, -1, "1", True, np.random.RandomState(0), [1, 2]])
def test_bad_seeds_name_the_accepted_forms(seed):
    with pytest.raises(ParameterError, match="seed") as e:
        PCMArray(3, seed=seed)
    assert "\n" not in str(e.value)


def test_device_characterisation_workload_runs_on_derived_streams(tmp_path):
    """The workload passes rng(seed, experiment) Generators (refused before issue 9)."""
    from neuropcm.workloads import get_workload

    w = get_workload("device-characterisation")
    out = w.run(w.config(devices=200, seed=4), tmp_path / "a.h5", progress=False)
    again = w.run(w.config(devices=200, seed=4), tmp_path / "b.h5", progress=False)
    import h5py

    with h5py.File(out) as f, h5py.File(again) as g:
        for name in ("results/accumulation/mean", "results/drift/mean", "results/read_noise/std"):
            np.testing.assert_array_equal(f[name][()], g[name][()])


# ------------------------------------------------------------------ point 4: provenance
def test_get_preset_records_name_and_overridden_fields():
    p = get_preset("joshi2020")
    assert (p.preset, p.overrides, p.provenance) == ("joshi2020", (), "joshi2020")
    q = get_preset("joshi2020", t0=10.0, g_max=20 * usiemens)
    assert q.preset == "joshi2020" and q.overrides == ("g_max", "t0")
    assert q.provenance == "joshi2020 (g_max, t0 overridden)"
    # an override equal to the preset's value changes nothing: not overridden
    assert get_preset("nandakumar2018", g_max=20e-6).overrides == ()


def test_replace_adds_and_removes_overrides():
    p = get_preset("nandakumar2018", g_max=12e-6)
    q = p.replace(t0=50.0)
    assert q.preset == "nandakumar2018" and q.overrides == ("g_max", "t0")
    r = q.replace(g_max=PulsedParams().g_max)  # back to the preset's value
    assert r.overrides == ("t0",)
    assert p.overrides == ("g_max",)  # the original is unchanged (frozen)


def test_hand_built_parameters_are_custom():
    p = ProgrammedStateParams(g_max=20e-6)
    assert p.preset is None and p.overrides == () and p.provenance == "custom"
    assert p.replace(t0=3.0).preset is None
    assert dataclasses.replace(get_preset("joshi2020"), t0=3.0).preset is None
    a = PCMArray(4, p, seed=0)
    assert a.preset is None and "custom" in repr(a)


def test_a_parameter_object_keeps_its_provenance_through_pcmarray():
    p = get_preset("binary", prog_rel=0.1)
    a = PCMArray(4, p, seed=0)
    assert a.preset == "binary" and a.params.overrides == ("prog_rel",)
    b = PCMArray(4, p, seed=0, t0=5.0)
    assert b.preset == "binary" and b.params.overrides == ("prog_rel", "t0")
    assert "binary (prog_rel, t0 overridden)" in repr(b)


def test_equality_compares_values_not_provenance():
    """Equal values are equal parameter objects (and hash alike), whatever their history."""
    named = get_preset("joshi2020", g_max=20e-6)
    hand = ProgrammedStateParams(g_max=20e-6)
    assert named == hand and hash(named) == hash(hand)
    assert (named.preset, hand.preset) == ("joshi2020", None)
    assert len({named, hand}) == 1
    assert named != get_preset("joshi2020")
    assert get_preset("joshi2020") == ProgrammedStateParams()
    assert named.as_dict() == hand.as_dict() and "preset" not in named.as_dict()


def test_provenance_survives_copy_and_pickle():
    p = get_preset("ideal", set_step=1e-6)
    for q in (copy.copy(p), copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert q == p and (q.preset, q.overrides) == ("ideal", ("set_step",))


def test_pcmarray_preset_cannot_contradict_its_parameters():
    a = PCMArray(3, "joshi2020", seed=0)
    a.preset = "joshi2020"  # agrees: accepted (older callers stamp the name)
    a.preset = "custom"  # says nothing: accepted
    assert a.preset == "joshi2020"
    with pytest.raises(ParameterError, match="comes from its parameters.*'binary'"):
        a.preset = "binary"
    assert a.preset == "joshi2020"


def test_from_state_takes_the_preset_from_the_parameters():
    a = PCMArray(5, "joshi2020", seed=1, g_max=20e-6)
    b = PCMArray.from_state(a.params, a.state_dict())
    assert b.preset == "joshi2020" and b.params.overrides == ("g_max",)
    assert PCMArray.from_state(a.params, a.state_dict(), preset="joshi2020").preset == "joshi2020"
    assert PCMArray.from_state(a.params, a.state_dict(), preset="custom").preset == "joshi2020"
    with pytest.raises(ParameterError, match="preset = 'binary' disagrees"):
        PCMArray.from_state(a.params, a.state_dict(), preset="binary")


def test_with_preset_labels_values_by_difference():
    p = ProgrammedStateParams(g_max=20e-6, t0=5.0)
    q = with_preset(p, "joshi2020")
    assert q == p and q.preset == "joshi2020" and q.overrides == ("g_max", "t0")
    assert with_preset(ProgrammedStateParams(), "joshi2020").overrides == ()
    with pytest.raises(ParameterError, match="'nandakumar2018' is a 'pulsed' model"):
        with_preset(p, "nandakumar2018")
    with pytest.raises(UnknownPresetError, match="known presets"):
        with_preset(p, "nope")


@pytest.mark.parametrize("preset,overrides,match", [
    ("", (), "preset = '' must be"), (3, (), "preset = 3"),
    ("joshi2020", ("nope",), r"\['nope'\] are not parameters"),
    (None, ("g_max",), "need a preset name"),
])
def test_with_provenance_validates(preset, overrides, match):
    with pytest.raises(ParameterError, match=match):
        ProgrammedStateParams().with_provenance(preset, overrides)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_names_itself(name):
    p = get_preset(name)
    assert p.preset == name and p.overrides == ()
    assert "preset" in type(p).__doc__ and "overrides" in type(p).__doc__
