"""The registry of file kinds the project writes.

Every HDF5 file carries a root attribute ``kind``. Each kind is declared here once, with
its schema version, its headline results (attributes of ``/results``) and its datasets
with their units, so that readers (:func:`neuropcm.io.open`, the analysis CLI) can check a
file and show it without knowing the run that made it. Units come from one small
vocabulary of SI symbols (:data:`UNITS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UnknownPresetError

#: The unit symbols a dataset or headline may carry: siemens, seconds, volts, amperes,
#: joules, kelvin, dimensionless, and counts (pulses, spikes, reads, examples).
UNITS = ("S", "s", "V", "A", "J", "K", "1", "count")


@dataclass(frozen=True)
class FileKind:
    """One kind of HDF5 file.

    Attributes
    ----------
    name : str
        The root ``kind`` attribute.
    schema_version : int
        Layout version of this kind; a reader refuses newer versions.
    description : str
        One line for ``neuropcm inspect``.
    headline : dict
        Headline attributes of ``/results`` and their units (from :data:`UNITS`).
    datasets : dict
        Datasets every file of this kind holds (path under the root) and their units.
    devices : bool
        Whether device states are stored under ``/devices/<name>/``.
    """

    name: str
    schema_version: int
    description: str
    headline: dict = field(default_factory=dict)
    datasets: dict = field(default_factory=dict)
    devices: bool = False

    def __post_init__(self):
        for where, table in (("headline", self.headline), ("datasets", self.datasets)):
            for k, u in table.items():
                if u not in UNITS:
                    raise ValueError(f"file kind {self.name!r}: {where} {k!r} has unit {u!r}, "
                                     f"not one of {UNITS}")


KINDS: dict[str, FileKind] = {}


def register_kind(kind: FileKind) -> FileKind:
    """Add a kind to the registry (a name may be registered once)."""
    if kind.name in KINDS and KINDS[kind.name] != kind:
        raise ValueError(f"file kind {kind.name!r} is registered twice, differently")
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> FileKind:
    """The registered kind ``name``.

    Raises
    ------
    UnknownPresetError
        If no such kind is registered (the message lists the known ones).
    """
    if name not in KINDS:
        raise UnknownPresetError(f"unknown file kind {name!r}; known: {sorted(KINDS)}")
    return KINDS[name]


# -- the kinds the project writes ------------------------------------------------------
register_kind(FileKind(
    "pcm_array", 1, "PCM device arrays (full state)", devices=True))
register_kind(FileKind(
    "crossbar", 1, "a programmed PCM crossbar (devices, mapping, periphery, clock)",
    datasets={"crossbar/W": "1"}, devices=True))
register_kind(FileKind(
    "device_characterisation", 1,
    "a device preset measured on many simulated devices",
    datasets={"results/accumulation/mean": "S", "results/accumulation/std": "S",
              "results/accumulation/theory_mean": "S", "results/accumulation/theory_std": "S",
              "results/drift/time": "s", "results/drift/mean": "S",
              "results/read_noise/std": "S"}))
register_kind(FileKind(
    "mnist_clustering", 1, "unsupervised MNIST clustering with PCM synapses",
    headline={"test_accuracy": "1", "train_examples": "count", "train_wall_s": "s",
              "test_wall_s": "s", "n_set": "count", "n_reset": "count", "energy_J": "J"},
    datasets={"results/confusion": "count", "results/per_class_accuracy": "1"},
    devices=True))
register_kind(FileKind(
    "mnist_checkpoint", 1, "a checkpoint of an MNIST clustering run (resume with --resume)"))
register_kind(FileKind(
    "phase_change_neuron", 1, "phase-change neuron reproduction (Tuma 2016)"))
