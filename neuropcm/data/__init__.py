"""Data files shipped with NeuroPCM (package data): an example accumulation measurement
and published summary curves, documented in ``README.md`` beside this file. Open them with
``importlib.resources.files("neuropcm.data") / "example_accumulation.csv"``."""
