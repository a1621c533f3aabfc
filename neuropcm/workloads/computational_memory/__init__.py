"""Computational-memory workloads on PCM crossbars (seed tutorial section IV): MVM precision
(``mvm-precision``), compressed sensing (``compressed-sensing``), temporal correlation
detection (``correlation``) and the mixed-precision linear solver (``solver``), with their
kernels (``_correlation_kernels``) and the iterative-refinement helpers (``_refinement``).
"""
