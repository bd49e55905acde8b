#!/usr/bin/python3
"""vmath_fit.py — derives the polynomial coefficients of vmath_avx2.h / vmath_avx512.h.

Each approximation is a polynomial fitted for minimum maximum *relative* error (Lawson's
iteratively reweighted least squares, converging to the minimax fit) on its reduced
interval, against mpmath at 50 digits, then rounded to float. Run it to check or refit:

    /usr/bin/python3 tools/vmath_fit.py      (numpy + mpmath; prints C constants)

The printed `rel` is the fit's error in exact arithmetic; the float evaluation adds a few
roundings on top (tests/test_vmath.c measures the total against libm double).
"""
import mpmath as mp
import numpy as np

mp.mp.dps = 50


def lawson_raw(A, y, w, iters=300):
    lw = np.ones(len(y)) / len(y)
    c = None
    for _ in range(iters):
        s = np.sqrt(lw) * w
        c, *_ = np.linalg.lstsq(A * s[:, None], y * s, rcond=None)
        e = np.abs(A @ c - y) * w
        lw = lw * (e + 1e-300)
        lw /= lw.sum()
    return c


def lawson(xs, f, basis, weight, fixed=()):
    """Coefficients c minimising max |sum c_i basis_i(x) - f(x)| * weight(x), each rounded
    to float in turn (lowest degree first) with the rest refitted to absorb its rounding.
    `fixed`: leading coefficients given exactly (not fitted)."""
    A = np.array([[float(b) for b in basis(x)] for x in xs])
    y = np.array([float(f(x)) for x in xs])
    w = np.array([float(weight(x)) for x in xs])
    c = [float(v) for v in fixed]
    while len(c) < A.shape[1]:
        k = len(c)
        r = y - A[:, :k] @ np.array(c) if k else y
        free = lawson_raw(A[:, k:], r, w)
        c.append(float(np.float32(free[0])) if len(free) > 1 else free[0])
    return np.array(c)


def rel_err(xs, f, basis, c, scale=lambda x: 1):
    worst = 0.0
    for x in xs:
        v = sum(mp.mpf(float(np.float32(ci))) * b for ci, b in zip(c, basis(x)))
        t = f(x)
        worst = max(worst, abs((v - t) / t * scale(x)) if t != 0 else 0)
    return float(worst)


def cheb_nodes(a, b, n):
    k = np.arange(n)
    return [mp.mpf(a) + (mp.mpf(b) - a) * (1 - mp.cos(mp.pi * (i + 0.5) / n)) / 2 for i in k]


def show(name, c):
    print(f"{name}:", ", ".join(f"{float(np.float32(ci)):.9e}f" for ci in c))


def fit_exp():
    # e^r = 1 + r + r^2 q(r), r in [-ln2/2, ln2/2]; fit q for the relative error of e^r
    h = mp.log(2) / 2
    xs = [x for x in cheb_nodes(-h, h, 600) if abs(x) > 1e-30]
    deg = 4
    f = lambda r: (mp.exp(r) - 1 - r) / r**2
    basis = lambda r: [r**i for i in range(deg + 1)]
    weight = lambda r: r**2 / mp.exp(r)  # error of q scaled to the error of e^r
    c = lawson(xs, f, basis, weight)
    show("exp q (r^0..r^4)", c)
    print("  rel", rel_err(xs, f, basis, c, lambda r: r**2 / mp.exp(r)))


def fit_tanh(lim=0.625, deg=5):
    # tanh x = x + x^3 p(x^2), |x| <= lim
    xs = cheb_nodes(1e-6, lim, 600)
    f = lambda x: (mp.tanh(x) - x) / x**3
    basis = lambda x: [x ** (2 * i) for i in range(deg + 1)]
    weight = lambda x: x**3 / mp.tanh(x)
    c = lawson(xs, f, basis, weight)
    show(f"tanh p (|x| <= {lim})", c)
    print("  rel", rel_err(xs, f, basis, c, lambda x: x**3 / mp.tanh(x)))


def fit_erf(lim=1.0, deg=6):
    # erf x = x (c0 + c0lo + x^2 p(x^2)), |x| <= lim: c0 = float(2/sqrt(pi)) is given and
    # c0lo (fitted) carries its rounding error, which alone would be 0.9 ulp near 0
    xs = cheb_nodes(1e-6, lim, 600)
    f = lambda x: mp.erf(x) / x
    basis = lambda x: [1] + [x ** (2 * i) for i in range(deg + 1)]
    c = lawson(xs, f, basis, lambda x: 1 / f(x), fixed=(np.float32(2 / mp.sqrt(mp.pi)),))
    show(f"erf c0, c0lo, p (|x| <= {lim})", c)
    print("  rel", rel_err(xs, f, basis, c))


def fit_erfc(zmax=9.5, deg=9):
    # erfc z = t exp(-z^2) s(t), t = 2 / (2 + z), z in [0, zmax]
    ts = cheb_nodes(2 / (2 + mp.mpf(zmax)), 1, 800)
    f = lambda t: mp.erfc(2 / t - 2) * mp.exp((2 / t - 2) ** 2) / t
    basis = lambda t: [t**i for i in range(deg + 1)]
    c = lawson(ts, f, basis, lambda t: 1 / f(t))
    show(f"erfc s(t) (z <= {zmax})", c)
    print("  rel", rel_err(ts, f, basis, c))


if __name__ == "__main__":
    fit_exp()
    fit_tanh()
    fit_erf()
    fit_erfc(9.5, 10)
