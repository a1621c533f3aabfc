"""Brian2 test helpers shared by the SNN test modules (import them into a module; the
autouse fixture then applies to that module only)."""

import brian2
import pytest
from brian2 import NeuronGroup, defaultclock, ms

from neuropcm.snn import Plasticity


@pytest.fixture(autouse=True)
def numpy_target():
    """Brian2's numpy target, 0.1 ms steps, no order-dependence warnings."""
    brian2.prefs.codegen.target = "numpy"
    brian2.BrianLogger.suppress_name("brian2.codegen.generators.base")
    defaultclock.dt = 0.1 * ms
    yield


class AlwaysLTP(Plasticity):
    """Test rule: every postsynaptic spike potentiates (one SET pulse on G+)."""

    def on_post(self):
        return "ltp = 1\nltd = 0\nltp_amp = 1.0\nltd_amp = 1.0"


def clock_neuron():
    """One target neuron that fires at 1, 2, 3, ... ms (deterministic post spikes)."""
    return NeuronGroup(1, "v : 1", reset="",
                       threshold="t > 0.5*ms and abs(t/ms - floor(t/ms + 0.5)) < 0.01")
