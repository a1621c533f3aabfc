"""Standard normal numbers for the compiled (C++) target: the ziggurat method.

Brian2's C++ ``randn()`` is the polar Box-Muller method: about 2.5 uniforms (5 Mersenne
Twister words), a logarithm and a square root for every two numbers. The 400-neuron
clustering network draws one normal per neuron and time step for its summed read noise,
and that was a quarter of its time. The ziggurat method (Marsaglia & Tsang 2000, in
Doornik's 2005 form ``ZIGNOR`` with 128 blocks) draws one uniform per number in 98.8 % of
the draws (a table look-up and a compare) and falls back to exact exponentials for the
wedges and the tail, so the numbers are exactly standard normal.

The uniform is Brian2's own ``_rand()`` (53 bits from two Mersenne Twister words of the
target's seeded generator, so ``brian2.seed`` makes runs repeat): its high bits give the
value ``u = 2U - 1`` and its 7 lowest bits the block. The two overlap only below 2^-46
of ``u``, far below anything a simulation resolves (Doornik's point was to not reuse the
*high* bits for the block, as Marsaglia & Tsang's 32-bit version did).
"""

from __future__ import annotations

#: C++ support code: ``_npcm_zig_normal(_vectorisation_idx)``, a standard normal drawn
#: from ``_rand``. The tables are built once per translation unit, when the program starts.
ZIGGURAT_CPP = r"""
#ifndef NPCM_ZIGGURAT
#define NPCM_ZIGGURAT
struct _npcm_zig_tables {
    double x[129], r[128];
    _npcm_zig_tables() {
        const double R = 3.442619855899, V = 9.91256303526217e-3;
        double f = exp(-0.5 * R * R);
        x[0] = V / f; x[1] = R; x[128] = 0.0;
        for (int i = 2; i < 128; ++i) {
            x[i] = sqrt(-2.0 * log(V / x[i - 1] + f));
            f = exp(-0.5 * x[i] * x[i]);
        }
        for (int i = 0; i < 128; ++i) r[i] = x[i + 1] / x[i];
    }
};
static const _npcm_zig_tables _npcm_zig;
static inline double _npcm_zig_normal(const int _vectorisation_idx) {
    for (;;) {
        const double U = _rand(_vectorisation_idx);
        const int i = (int)((unsigned long long)(U * 9007199254740992.0) & 127ULL);
        const double u = 2.0 * U - 1.0;
        if (fabs(u) < _npcm_zig.r[i]) return u * _npcm_zig.x[i];
        if (i == 0) {  // the tail beyond R = x[1]
            double x, y;
            do {
                x = log(_rand(_vectorisation_idx)) / _npcm_zig.x[1];
                y = log(_rand(_vectorisation_idx));
            } while (-2.0 * y < x * x);
            return u < 0 ? x - _npcm_zig.x[1] : _npcm_zig.x[1] - x;
        }
        const double x = u * _npcm_zig.x[i];  // a wedge: accept under the density
        const double f0 = exp(-0.5 * (_npcm_zig.x[i] * _npcm_zig.x[i] - x * x));
        const double f1 = exp(-0.5 * (_npcm_zig.x[i + 1] * _npcm_zig.x[i + 1] - x * x));
        if (f1 + _rand(_vectorisation_idx) * (f0 - f1) < 1.0) return x;
    }
}
#endif
"""
