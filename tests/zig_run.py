"""Draws randn_if in cpp_standalone (the ziggurat normal) for tests/test_snn_normal.py:
``python zig_run.py OUT.npz BUILD_DIR N SEED``."""
import sys

import brian2 as b
import numpy as np

from neuropcm.snn.models import RANDN_IF

b.set_device("cpp_standalone", directory=sys.argv[2])
b.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
g = b.NeuronGroup(int(sys.argv[3]), "x : 1\ny : 1", namespace={"randn_if": RANDN_IF})
g.run_regularly("x = randn_if(1)\ny = randn_if(i % 2)", dt=1 * b.ms)
b.seed(int(sys.argv[4]))
b.run(2 * b.ms)  # two draws per element: x holds the second
np.savez(sys.argv[1], x=np.asarray(g.x[:]), y=np.asarray(g.y[:]))
