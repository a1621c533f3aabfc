"""Label assignment and scoring of clustering networks: :mod:`neuropcm.snn.metrics`, read here
too because analyses of result files use them."""

from ..snn.metrics import *  # noqa: F401,F403
from ..snn.metrics import __all__  # noqa: F401
