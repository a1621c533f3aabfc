"""Each relation renders to numpy, numba and Brian2 code that agree."""

import numpy as np
import pytest

from neuropcm.devices import get_preset
from neuropcm.devices import physics as ph


@pytest.mark.parametrize("rel", list(ph.RELATIONS.values()), ids=list(ph.RELATIONS))
def test_numpy_and_numba_agree(rel):
    preset = "nandakumar2018" if rel.params[0] in get_preset("nandakumar2018").as_dict() else \
        "joshi2020"
    p = get_preset(preset)
    rng = np.random.default_rng(0)
    scale = {"S": 10e-6, "s": 100.0, "1": 0.5, "K": 300.0}
    for _ in range(20):
        vals = {v: abs(rng.normal()) * scale[u] + (1e-7 if u != "K" else 1.0)
                for v, u in rel.variables}
        a = rel(p, **vals)
        b = rel.numba(*[vals[v] for v in rel.variable_names], *[getattr(p, q) for q in rel.params])
        assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.brian2
@pytest.mark.parametrize("rel", list(ph.RELATIONS.values()), ids=list(ph.RELATIONS))
def test_brian2_rendering_has_units_and_value(rel):
    import brian2

    preset = "nandakumar2018" if rel.params[0] in get_preset("nandakumar2018").as_dict() else \
        "joshi2020"
    p = get_preset(preset)
    units = {"S": brian2.siemens, "s": brian2.second, "1": 1, "K": brian2.kelvin}
    vals = {v: 0.7 * (10e-6 if u == "S" else 100.0 if u == "s" else 300.0 if u == "K" else 0.5)
            for v, u in rel.variables}
    ns = {k: getattr(brian2, k) for k in ("siemens", "second", "joule", "kelvin")}
    ns.update({"exp": brian2.exp, "log": brian2.log, "sqrt": brian2.sqrt, "clip": brian2.clip,
               "inf": np.inf})
    ns.update({v: vals[v] * units[u] for v, u in rel.variables})
    got = eval(rel.brian2(p), ns)
    want = rel(p, **vals)
    out_unit = units.get(rel.unit, 1)
    assert float(got / out_unit) == pytest.approx(float(want), rel=1e-12)


def test_brian2_rename():
    p = get_preset("nandakumar2018")
    s = ph.SET_MEAN.brian2(p, G="Gp", P="Pp")
    assert "Gp" in s and "Pp" in s and "siemens" in s
    with pytest.raises(TypeError, match="no variables"):
        ph.SET_MEAN.brian2(p, X="y")
