"""Network definitions shipped with NeuroPCM (package data): ``sidler2017`` (50 WTA
neurons, Sidler et al. 2017), ``wta100`` and ``wta400``.

Each is a TOML file read by :func:`neuropcm.snn.config.load_network`; copy one (its path is
``neuropcm.networks.DIR / "<name>.toml"``) and edit it to make a variant. The repository's
top-level ``networks/`` folder links to these same files.
"""

from pathlib import Path

#: The folder of the shipped definitions (inside the installed package).
DIR = Path(__file__).resolve().parent


def names() -> list[str]:
    """Names of the shipped network definitions."""
    return sorted(p.stem for p in DIR.glob("*.toml"))
