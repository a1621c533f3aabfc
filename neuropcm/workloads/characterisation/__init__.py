"""Workloads that characterise a device preset on many simulated devices
(``device-characterisation``).
"""
