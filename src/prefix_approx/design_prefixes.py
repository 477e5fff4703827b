"""Prefixes on spherical designs for smooth (polynomial) targets on S^m, with proved bounds.

The core head with control points x_1..x_N, values v_j and inverse temperature lam computes

    H(x) = Q[v K_x] / (Q[K_x] + T/N),   K_x(y) = exp(lam <x, y>),  Q = (1/N) sum_j.

By the Funk-Hecke formula K_x = mu_0 sum_l rho_l Z_l(x, .) with
rho_l = I_(ell+nu)(lam) / I_nu(lam), nu = (m-1)/2, and mu_0 = Gamma(nu+1) (2/lam)^nu I_nu(lam)
the mean of K_x. If the points form a t-design (or a near-design with certified defect) and
f has degree M, then Q reproduces the integral of f K_x up to the kernel's harmonics beyond
t - M. With values v_j = f(x_j) the head is the vMF smoothing of f plus a small error
(`design_error_bound`); with values g(x_j), g_l = f_l / rho_l (deconvolution), the smoothing
bias disappears too. The proofs are in the chapter "Smooth targets on every sphere:
spherical designs" (theorems thm-design-values and thm-design-deconvolved).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from scipy.special import gammaln, ive

from ._validation import (
    ArrayLike,
    as_float64,
    check_flag,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    evaluate_target,
)
from .bounds import MAX_SEQUENCE_LENGTH
from .core_head import CorePrefix, core_prefix
from .designs import (
    _U,
    Ball,
    SphericalDesign,
    _gegenbauer_balls,
    _gram_balls,
    _mul,
    _sum,
    _unit_points,
    harmonic_dimension,
    shipped_design_strengths,
    spherical_design,
)
from .sphere import random_sphere_points

__all__ = [
    "DesignParameters",
    "design_error_bound",
    "design_prefix",
    "funk_hecke_ratios",
    "harmonic_sup_norms",
]

#: Largest lam the bounds accept (`design_error_bound`, `design_prefix`): the bounds use
#: rho_l up to ell = 2 lam, and `funk_hecke_ratios` computes at most 10^6 + 1 of them.
MAX_DESIGN_LAM = 5e5

#: Largest lam `funk_hecke_ratios` accepts (scipy's ive is accurate far beyond it).
MAX_RATIO_LAM = 1e7

#: Relative accuracy claimed for the Bessel ratios from scipy.special.ive; the bounds widen
#: every ratio by this much (scipy documents about 1e-15 for these orders and arguments).
_RATIO_SLACK = 1e-10


def funk_hecke_ratios(lam: float, m: int, n_max: int) -> torch.Tensor:
    """rho_l = I_(ell+nu)(lam) / I_nu(lam), nu = (m-1)/2, for ell = 0..n_max, shape
    (n_max+1,), float64: the factor by which the normalised kernel exp(lam <x, .>) / mu_0
    scales the degree-ell spherical harmonics on S^m (Funk-Hecke formula; Atkinson and Han
    2012, Theorem 2.22). From scipy.special.ive; when I_nu(lam) e^-lam underflows (orders
    far above lam, e.g. large m), from the backward recurrence
    I_v / I_(v-1) = lam / (2 v + lam I_(v+1) / I_v) instead, so the values stay finite.
    On S^1 (m = 1) these are `bessel_ratios`. Raises ValueError for lam > MAX_RATIO_LAM
    (1e7) or n_max > 10^6.

    Used in: book/spherical_designs.ipynb.
    """
    lam = check_positive_float(lam, "lam")
    m = check_positive_int(m, "m")
    n_max = check_positive_int(n_max, "n_max", minimum=0, maximum=10**6)
    if lam > MAX_RATIO_LAM:
        raise ValueError(f"lam must be at most {MAX_RATIO_LAM:g}; got {lam:g}")
    nu = (m - 1) / 2
    base = float(ive(nu, lam))
    if base >= 1e-280:
        orders = nu + np.arange(n_max + 1, dtype=np.float64)
        return torch.from_numpy(ive(orders, lam) / base)
    return torch.from_numpy(_recurrence_ratios(lam, nu, n_max))


def _recurrence_ratios(lam: float, nu: float, n_max: int) -> np.ndarray:
    """rho_l = prod_(k=1..l) r(nu + k), r(v) = I_v(lam) / I_(v-1)(lam), by the (stable)
    backward recurrence r(v) = lam / (2 v + lam r(v+1)), started `extra` orders above
    nu + n_max at Amos's estimate lam / (v + sqrt(v^2 + lam^2)); the start's error
    contracts by r(v)^2 < 1 per step."""
    extra = 200 + min(10**6, int(40 * lam / (nu + 1)))
    top = nu + n_max + extra
    r = lam / (top + math.sqrt(top * top + lam * lam))
    steps = np.empty(n_max + 1)
    for k in range(n_max + extra, 0, -1):
        v = nu + k
        r = lam / (2 * v + lam * r)
        if k <= n_max:
            steps[k] = r
    steps[0] = 1.0
    return np.cumprod(steps)


def _log_mu0(lam: float, m: int) -> float:
    """log of mu_0 = Gamma(nu+1) (2/lam)^nu I_nu(lam), the mean of exp(lam <x, y>) over y."""
    nu = (m - 1) / 2
    return float(gammaln(nu + 1) + nu * math.log(2 / lam) + math.log(ive(nu, lam)) + lam)


@dataclass(frozen=True)
class _Ratios:
    """Upper and lower bounds on rho_l, ell = 0..reach, and the tails beyond."""

    upper: np.ndarray
    lower: np.ndarray
    reach_tail: float


def _ratios(lam: float, m: int, t: int) -> _Ratios:
    """`_ratios_at` with the reach that degree t needs (cached)."""
    return _ratios_at(lam, m, int(max(2 * lam, 2 * t + 200, 800)))


@lru_cache(maxsize=512)
def _ratios_at(lam: float, m: int, reach: int) -> _Ratios:
    """rho_l widened by _RATIO_SLACK, capped by the bound rho_l <= exp(-ell^2 / (2(lam + ell)))
    (Amos's bounds, valid for every nu >= 0; lemma lem-amos-consequences), up to
    reach = max(2 lam, 2 t + 200, 800); beyond reach, sum_l dim_l rho_l is at most
    2 exp(-(reach+1)/8) / (1 - exp(-1/8)), since dim_l <= 2 (ell+1)^2 <= exp(ell/8) there and
    rho_l <= exp(-ell/4) for ell >= lam."""
    rho = funk_hecke_ratios(lam, m, reach).numpy()
    ell = np.arange(reach + 1, dtype=np.float64)
    amos = np.exp(-(ell**2) / (2 * (lam + ell)))
    upper = np.minimum(rho * (1 + _RATIO_SLACK) + 1e-290, amos)
    upper[0] = 1.0
    lower = rho * (1 - _RATIO_SLACK)
    lower[0] = 1.0
    tail = 2 * math.exp(-(reach + 1) / 8) / (1 - math.exp(-1 / 8))
    return _Ratios(upper, lower, tail)


@lru_cache(maxsize=64)
def _dims(m: int, n: int) -> np.ndarray:
    return np.array([harmonic_dimension(m, ell) for ell in range(n + 1)], dtype=np.float64)


def _bound(
    a: np.ndarray,
    *,
    m: int,
    strength: int,
    defect: float,
    lam: float,
    n_points: int,
    max_len: int,
    bound: float,
    deconvolve: bool,
    value_error: float,
    key_offset: float,
) -> float:
    ratios = _ratios(lam, m, strength)
    degree = a.shape[0] - 1
    low = strength - degree  # L = t - M: the kernel degrees Q reproduces against f
    dims = _dims(m, ratios.upper.shape[0] - 1)
    weighted = dims * ratios.upper
    tail_from = np.concatenate((np.cumsum(weighted[::-1])[::-1], [0.0])) + ratios.reach_tail

    def tail(level: int) -> float:  # sum over ell > level of dim_l rho_l
        return float(tail_from[max(level, -1) + 1])

    def kernel_norm(first: int, last: int) -> float:  # sqrt(sum dim_l rho_l^2), ell in range
        if last < first:
            return 0.0
        squares = dims[first : last + 1] * ratios.upper[first : last + 1] ** 2
        return math.sqrt(float(squares.sum()))

    den_error = tail(strength) + defect * kernel_norm(1, strength)
    if den_error >= 1:
        return math.inf
    kept = np.arange(degree + 1) <= low
    missed = float(a[~kept].sum())
    if deconvolve:
        values_bound = float((a / ratios.lower[: degree + 1]).sum())
        num_error = missed
    else:
        values_bound = bound
        ell = np.arange(degree + 1, dtype=np.float64)
        one_minus = np.minimum(
            1 - ratios.lower[: degree + 1], ell * (ell + m) / (2 * lam)
        )  # the second: lemma lem-amos-consequences
        num_error = float((a[kept] * one_minus[kept]).sum()) + missed
    num_error += values_bound * (tail(low) + defect * kernel_norm(0, max(low, -1)))
    inputs = 0.0
    if max_len:
        log_inputs = math.log(bound) + math.log(max_len) - math.log(n_points) - _log_mu0(lam, m)
        if log_inputs > 700:  # the bound is astronomically large: no guarantee
            return math.inf
        inputs = math.exp(log_inputs)
    main = (num_error + bound * den_error + inputs) / (1 - den_error)
    if lam * key_offset > 700:
        return math.inf
    spread = math.expm1(lam * key_offset)  # s - 1 for s = exp(lam eta)
    keys = 2 * (1 + spread) * spread * (values_bound + value_error)
    return (main + value_error + keys) * (1 + 1e-12)


def design_error_bound(
    harmonic_norms: ArrayLike,
    *,
    m: int,
    strength: int,
    defect: float,
    lam: float,
    n_points: int,
    max_len: int,
    bound: float,
    deconvolve: bool = False,
    value_error: float = 0.0,
    key_offset: float = 0.0,
) -> float:
    """The book's bound on the sup error of the core head on S^m (m = 2 or 3) with the
    `n_points` control points of a near-design of strength t = `strength` and certified
    defect `defect` = sqrt(sum_(ell<=t) D_l^2), inverse temperature `lam`, at most `max_len`
    input tokens, for a target f = f_0 + ... + f_M of degree M with sup |f| <= `bound` and
    sup |f_l| <= `harmonic_norms[ell]` (1-D, length M+1). With L = t - M, tau_L =
    sum_(ell>L) dim_l rho_l and kappa_L = sqrt(sum_(ell<=L) dim_l rho_l^2):

    values f(x_j) (theorem thm-design-values):
        [ sum_(ell<=L) a_l (1 - rho_l) + sum_(ell>L) a_l + B (tau_L + delta kappa_L)
          + B e_0 + B T / (N mu_0) ] / (1 - e_0),   e_0 = tau_t + delta kappa'_t;
    values g(x_j), g_l = f_l / rho_l (`deconvolve=True`, theorem thm-design-deconvolved):
        the same with the bias sum_(ell<=L) a_l (1 - rho_l) removed and B replaced by
        B_g = sum_l a_l / rho_l in the tau_L and delta kappa_L terms.

    `value_error` bounds max_j |v_j - g(x_j)| (values computed in floating point) and
    `key_offset` bounds |k_j / lam - x_j| for the stored keys k_j; both are added as proved.
    Returns inf when e_0 >= 1 or the bound overflows (e.g. huge `bound` * `max_len`).
    Raises ValueError for m outside 2..3, lam > MAX_DESIGN_LAM (5e5) or inconsistent sizes.

    Used in: book/spherical_designs.ipynb.
    """
    a = as_float64(harmonic_norms, "harmonic_norms", ndim=1).numpy()
    if a.shape[0] == 0 or (a < 0).any():
        raise ValueError("harmonic_norms must be a non-empty 1-D array of sup norms >= 0")
    m = check_positive_int(m, "m", minimum=2, maximum=3)
    strength = check_positive_int(strength, "strength", maximum=10_000)
    defect = check_nonnegative_float(defect, "defect")
    lam = check_positive_float(lam, "lam")
    if lam > MAX_DESIGN_LAM:
        raise ValueError(
            f"lam must be at most MAX_DESIGN_LAM = {MAX_DESIGN_LAM:g} (the bounds need rho_l "
            f"up to ell = 2 lam); got {lam:g}"
        )
    n_points = check_positive_int(n_points, "n_points")
    max_len = check_positive_int(max_len, "max_len", minimum=0, maximum=MAX_SEQUENCE_LENGTH)
    bound = check_positive_float(bound, "bound")
    deconvolve = check_flag(deconvolve, "deconvolve")
    value_error = check_nonnegative_float(value_error, "value_error")
    key_offset = check_nonnegative_float(key_offset, "key_offset")
    return _bound(
        a,
        m=m,
        strength=strength,
        defect=defect,
        lam=lam,
        n_points=n_points,
        max_len=max_len,
        bound=bound,
        deconvolve=deconvolve,
        value_error=value_error,
        key_offset=key_offset,
    )


# ------------------------------------------------------------ harmonic analysis
#: Largest number of ball entries (points x nodes x outputs) held at once by the analysis.
_ANALYSIS_BLOCK = 2**22


def _analysis_design(m: int, degree: int) -> SphericalDesign:
    """The smallest shipped design of strength >= 2 `degree` (it integrates f Z_l exactly)."""
    strengths = [s for s in shipped_design_strengths(m) if s >= max(2 * degree, 1)]
    if not strengths:
        raise ValueError(
            f"bandwidth {degree} needs a design of strength >= {2 * degree} on S^{m} to "
            f"compute the harmonic parts of f; the largest shipped is "
            f"{max(shipped_design_strengths(m))}"
        )
    return _design(m, strengths[0])


_DESIGNS: dict[tuple[int, int], SphericalDesign] = {}


def _design(m: int, t: int) -> SphericalDesign:
    """`spherical_design(t, m=m)`, certified once per session."""
    if (m, t) not in _DESIGNS:
        _DESIGNS[m, t] = spherical_design(t, m=m)
    return _DESIGNS[m, t]


def _harmonic_parts(
    values: np.ndarray, nodes: SphericalDesign, points: np.ndarray, degree: int
) -> list[Ball]:
    """Balls around f_hat_l(z) = (dim_l / N) sum_j f(y_j) P_l(<z, y_j>), ell = 0..degree, at
    `points` (n, m+1), for values f(y_j) (N, k) at the design's nodes (taken as exact)."""
    m = nodes.m
    y = _unit_points(nodes.points.numpy())
    n_nodes, k = values.shape
    block = max(1, _ANALYSIS_BLOCK // (n_nodes * k * 4))
    parts: list[list[Ball]] = [[] for _ in range(degree + 1)]
    for start in range(0, points.shape[0], block):
        z = _unit_points(points[start : start + block])
        gram = _gram_balls(z, y)
        gram = (np.clip(gram[0], -1.0, 1.0), gram[1])
        for ell, p in enumerate(_gegenbauer_balls(gram, m, degree)):
            product = _mul(
                (p[0][:, :, None], p[1][:, :, None]), (values[None], np.zeros_like(values)[None])
            )
            total = _sum(product, 1)
            scale = (
                np.array(harmonic_dimension(m, ell) / n_nodes),
                np.array(_U * harmonic_dimension(m, ell) / n_nodes),
            )
            parts[ell].append(_mul(scale, total))
    return [
        (np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks]))
        for blocks in parts
    ]


@dataclass(frozen=True)
class _Analysis:
    """Harmonic analysis of a polynomial target: the node design, f at its nodes, the sup
    bounds a_l and the quadrature error e_l = B sqrt(dim_l) delta of each part."""

    nodes: SphericalDesign
    values: np.ndarray
    norms: np.ndarray
    errors: np.ndarray


def _analyse(
    f: Callable[[torch.Tensor], torch.Tensor], m: int, degree: int, bound: float
) -> _Analysis:
    nodes = _analysis_design(m, degree)
    values = evaluate_target(f, nodes.points.clone()).numpy()
    _check_bound(values, bound)
    delta = float(torch.sqrt((nodes.defects[: max(2 * degree, 1)] ** 2).sum())) * (1 + 1e-14)
    dims = _dims(m, degree)
    errors = bound * np.sqrt(dims) * delta * (1 + 1e-14)
    if float((np.sqrt(dims) * delta).max()) >= 0.5:
        raise ValueError("internal: the analysis design's defect is too large to certify norms")
    at_nodes = _harmonic_parts(values, nodes, nodes.points.numpy(), degree)
    norms = np.empty(degree + 1)
    for ell, ball in enumerate(at_nodes):
        top = (np.linalg.norm(ball[0], axis=1) + np.linalg.norm(ball[1], axis=1) + errors[ell]) * (
            1 + 4 * _U * (values.shape[1] + 2)
        )
        mean_square = float((top * top).mean()) * (1 + 1.01 * (len(top) + 4) * _U)
        l2_square = mean_square / (1 - math.sqrt(dims[ell]) * delta)
        norms[ell] = math.sqrt(dims[ell] * l2_square) * (1 + 1e-14)
    _check_bandwidth(f, nodes, values, degree, errors, bound)
    return _Analysis(nodes, values, norms, errors)


def _check_bound(values: np.ndarray, bound: float) -> None:
    largest = float(np.linalg.norm(values, axis=1).max())
    if largest > bound * (1 + 1e-12):
        raise ValueError(f"|f| reaches {largest:.6g} at a design point, above bound = {bound}")


def _check_norms(
    values: np.ndarray, norms: np.ndarray, tail: float, design: SphericalDesign
) -> None:
    """Necessary checks of the caller's `harmonic_norms` a_l and `tail_bound` tau on the
    values f(x_j) at the design's points (strength t, defects D_l <= delta):
    max_j |f(x_j)| <= sum_l a_l + tau, and |Q[f]| <= a_0 + tau + sum_(1<=l<=t) a_l delta
    + sum_(l>t) a_l (as |Q[f_l]| <= D_l ||f_l||_2 for l <= t); both with rounding slack."""
    total = float(norms.sum()) + tail
    slack = 1e-9 * total + 1e-300
    largest = float(np.linalg.norm(values, axis=1).max())
    if largest > total + slack:
        raise ValueError(
            f"|f| reaches {largest:.6g} at a design point, above sum(harmonic_norms) + "
            f"tail_bound = {total:.6g}: the harmonic_norms/tail_bound given do not bound f"
        )
    t = design.strength
    low = norms[1 : t + 1].sum() * design.defect
    mean_allowed = float(norms[0] + tail + low + norms[t + 1 :].sum())
    mean = float(np.linalg.norm(values.mean(axis=0)))
    if mean > mean_allowed + slack:
        raise ValueError(
            f"the mean of f over a design is {mean:.6g}, above harmonic_norms[0] + tail_bound "
            f"(+ certified defect) = {mean_allowed:.6g}: the harmonic_norms/tail_bound given "
            "do not bound f"
        )


def _check_bandwidth(
    f: Callable[[torch.Tensor], torch.Tensor],
    nodes: SphericalDesign,
    values: np.ndarray,
    degree: int,
    errors: np.ndarray,
    bound: float,
) -> None:
    """Necessary check that f has degree <= `degree`: at 64 seeded random points, f must
    equal the sum of its computed harmonic parts (which a polynomial of that degree does,
    up to the certified errors)."""
    m = nodes.m
    test = random_sphere_points(64, m, seed=2024)
    parts = _harmonic_parts(values, nodes, test.numpy(), degree)
    total = sum(p[0] for p in parts)
    slack = sum(np.linalg.norm(p[1], axis=1) for p in parts) + errors.sum()
    gap = np.linalg.norm(evaluate_target(f, test).numpy() - total, axis=1)
    allowed = slack + 1e-9 * bound  # relative to the target's scale
    if (gap > allowed).any():
        raise ValueError(
            f"f is not a polynomial of degree <= bandwidth = {degree}: at a random point it "
            f"differs by {float(gap.max()):.3g} from the sum of its harmonic parts up to "
            f"degree {degree}"
        )


def harmonic_sup_norms(
    f: Callable[[torch.Tensor], torch.Tensor], *, m: int, bandwidth: int, bound: float
) -> torch.Tensor:
    """Proved upper bounds a_l >= sup_x |f_l(x)|, ell = 0..`bandwidth`, shape (M+1,), float64,
    for the harmonic parts f_l of a polynomial target f: S^m -> R^k of degree at most
    M = `bandwidth` with sup |f| <= `bound`, m = 2 or 3. Computed on a shipped design Y of
    strength >= 2M: f_l(z) = Q_Y[f Z_l(z, .)] up to B sqrt(dim_l) delta_Y, and
    sup |f_l| <= sqrt(dim_l) ||f_l||_2 with ||f_l||_2^2 <= Q_Y[|f_l|^2] / (1 - sqrt(dim_l)
    delta_Y), all in ball arithmetic. Raises ValueError if f exceeds `bound` at a node, or
    is seen not to be of degree <= M at 64 random points (a necessary check).

    Used in: book/spherical_designs.ipynb.
    """
    m = check_positive_int(m, "m", minimum=2, maximum=3)
    degree = check_positive_int(bandwidth, "bandwidth", minimum=0, maximum=100)
    bound = check_positive_float(bound, "bound")
    return torch.from_numpy(_analyse(f, m, degree, bound).norms.copy())


# ------------------------------------------------------------------ the builder
@dataclass(frozen=True)
class DesignParameters:
    """The choices of a prefix on a spherical design: S^m, the design's `strength` t and
    `n_points` N, its certified `defect`, the inverse temperature `lam`, whether the values
    are deconvolved, the proved allowances `value_error` (floating-point values) and
    `key_offset` (stored keys), the guaranteed sup error `guaranteed` <= `eps`, and the
    caller's `tail_bound` on the target beyond the harmonic norms it gave (0 for a polynomial).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    eps: float
    m: int
    strength: int
    n_points: int
    lam: float
    defect: float
    deconvolve: bool
    value_error: float
    key_offset: float
    guaranteed: float
    tail_bound: float = 0.0


def _key_offset(points: np.ndarray) -> float:
    """Bound on |fl(lam x) / lam - x / |x|| over the stored points x: one rounding of lam x
    (u |x|) plus | |x| - 1 | <= | |x|^2 - 1 | (with the rounding of |x|^2)."""
    squares = (points * points).sum(axis=1)
    return float((np.abs(squares - 1) + 8 * _U).max()) * (1 + 1e-12)


def _lam_grid() -> np.ndarray:
    return 2.0 ** (np.arange(-8, 69) / 4)


def design_prefix(
    f: Callable[[torch.Tensor], torch.Tensor],
    *,
    eps: float,
    bound: float,
    max_len: int,
    m: int = 2,
    bandwidth: int | None = None,
    harmonic_norms: ArrayLike | None = None,
    tail_bound: float = 0.0,
    deconvolve: bool = False,
    max_tokens: int = 100_000,
) -> CorePrefix:
    """A prefix for `CoreHead(m, k)`, m = 2 or 3, on the smallest shipped spherical design
    (with its inverse temperature lam) for which `design_error_bound` proves sup error at
    most `eps` on sequences of at most `max_len` tokens, for a polynomial target f of degree
    M with sup |f| <= `bound`. Give exactly one of:
    - `bandwidth` M: the sup norms of the harmonic parts are computed and certified
      (`harmonic_sup_norms`), with a necessary check that f has degree <= M;
    - `harmonic_norms` a_0..a_M (the caller's proved bounds on sup |f_l|) and `tail_bound`
      tau >= sup |f - (f_0 + ... + f_M)| (0, the default, for a polynomial of degree M).
      A smooth f that is not a polynomial is covered this way: the values f(x_j) differ from
      those of its truncation p by at most tau, and the head averages them with weights of
      sum at most 1, so the guarantee is the bound for p (with sup |p| <= bound + tau) plus
      2 tau (remark after corollary cor-design-rate in the chapter). The norms and tau
      remain the caller's responsibility: the builder only checks, as necessary conditions
      on the design points it evaluates anyway, that max |f(x_j)| <= sum_l a_l + tau and
      that the mean of f over the design is within a_0 + tau (+ the certified defect), and
      raises ValueError naming harmonic_norms/tail_bound otherwise.
    Values are f(x_j) (theorem thm-design-values), or with `deconvolve=True` (which needs
    `bandwidth`) g(x_j) = sum_l f_l(x_j) / rho_l (theorem thm-design-deconvolved).

    Raises ValueError for inconsistent arguments, if f exceeds `bound` on a design point, if
    no shipped design of at most `max_tokens` points reaches eps (the message gives the
    best bound found), and TypeError for arguments of the wrong type.

    Used in: book/spherical_designs.ipynb.
    """
    eps = check_positive_float(eps, "eps")
    bound = check_positive_float(bound, "bound")
    max_len = check_positive_int(max_len, "max_len", maximum=MAX_SEQUENCE_LENGTH)
    m = check_positive_int(m, "m", minimum=2, maximum=3)
    deconvolve = check_flag(deconvolve, "deconvolve")
    max_tokens = check_positive_int(max_tokens, "max_tokens")
    tail = check_nonnegative_float(tail_bound, "tail_bound")
    if tail > 0 and harmonic_norms is None:
        raise ValueError(
            f"tail_bound = {tail:g} goes with harmonic_norms= (a polynomial given by "
            "bandwidth= has no tail)"
        )
    if 2 * tail >= eps:
        raise ValueError(
            f"tail_bound = {tail:g} alone costs 2 tau = {2 * tail:g} >= eps = {eps:g}: give "
            "more harmonic norms (a higher degree M) so that the tail is smaller"
        )
    if (bandwidth is None) == (harmonic_norms is None):
        raise ValueError(
            "give exactly one of bandwidth= (f is a polynomial of that degree) or "
            "harmonic_norms= (proved bounds on sup |f_l|, ell = 0..M): samples alone cannot "
            "bound the harmonic parts, so the guarantee needs one of them"
        )
    analysis: _Analysis | None = None
    if bandwidth is not None:
        degree = check_positive_int(bandwidth, "bandwidth", minimum=0, maximum=100)
        analysis = _analyse(f, m, degree, bound)
        norms = analysis.norms
    else:
        if deconvolve:
            raise ValueError("deconvolve=True needs bandwidth= (to compute the parts f_l)")
        norms = as_float64(harmonic_norms, "harmonic_norms", ndim=1).numpy()
        if norms.shape[0] == 0 or (norms < 0).any():
            raise ValueError("harmonic_norms must be a non-empty 1-D array of norms >= 0")
        degree = norms.shape[0] - 1
    strengths = [t for t in shipped_design_strengths(m) if t >= 1]
    sizes = {t: len(_design(m, t)) for t in strengths}
    fitting = [t for t in strengths if sizes[t] <= max_tokens]
    if not fitting:
        raise ValueError(
            f"the smallest shipped design on S^{m} has {min(sizes.values())} points, more "
            f"than max_tokens = {max_tokens}"
        )
    best = math.inf
    for t in sorted(fitting, key=lambda s: (sizes[s], s)):
        design = _design(m, t)
        points = design.points.numpy()
        offset = _key_offset(points)
        estimate = 0.0
        if analysis is not None and deconvolve:
            estimate = float((analysis.errors + 1e-12 * (norms + bound)).sum())
        candidates = []
        for lam in _lam_grid():
            if lam > 4.0 * (t + 2) ** 2:
                break
            ratios_low = _ratios(float(lam), m, t).lower[: degree + 1] if deconvolve else None
            value_error = estimate / float(ratios_low.min()) if ratios_low is not None else 0.0
            value = _bound_with_tail(
                norms,
                tail=tail,
                m=m,
                strength=t,
                defect=design.defect,
                lam=float(lam),
                n_points=len(design),
                max_len=max_len,
                bound=bound,
                deconvolve=deconvolve,
                value_error=value_error,
                key_offset=offset,
            )
            best = min(best, value)
            if value <= eps:
                candidates.append((value, float(lam)))
        for _, lam in sorted(candidates):
            prefix = _finish(f, design, analysis, norms, lam, deconvolve, bound, max_len, eps, tail)
            if prefix is not None:
                return prefix
    raise ValueError(
        f"no shipped design on S^{m} with at most {max_tokens} points reaches eps = {eps:g}; "
        f"the best bound found is {best:.3g} (largest shipped strength "
        f"{max(fitting)}, {sizes[max(fitting)]} points)"
    )


def _bound_with_tail(norms: np.ndarray, *, tail: float, bound: float, **kwargs: object) -> float:
    """`_bound` for the truncation p = f_0 + ... + f_M of a target f with sup |f - p| <= tail:
    values f(x_j) move the output by at most tail (the head's weights are positive and sum to
    at most 1), f is within tail of p, and sup |p| <= bound + tail; so the bound for p with
    bound + tail, plus 2 tail (remark after corollary cor-design-rate)."""
    return _bound(norms, bound=bound + tail, **kwargs) + 2 * tail  # type: ignore[arg-type]


def _finish(
    f: Callable[[torch.Tensor], torch.Tensor],
    design: SphericalDesign,
    analysis: _Analysis | None,
    norms: np.ndarray,
    lam: float,
    deconvolve: bool,
    bound: float,
    max_len: int,
    eps: float,
    tail: float = 0.0,
) -> CorePrefix | None:
    """The prefix for a chosen design and lam, with its final guarantee (None if the
    floating-point allowances of the actual values push it above eps)."""
    m = design.m
    points = design.points.numpy()
    degree = norms.shape[0] - 1
    value_error = 0.0
    if deconvolve:
        assert analysis is not None
        ratios = _ratios(lam, m, design.strength)
        rho = funk_hecke_ratios(lam, m, degree).numpy()
        parts = _harmonic_parts(analysis.values, analysis.nodes, points, degree)
        values = sum(p[0] / rho[ell] for ell, p in enumerate(parts))
        errors = sum(
            (np.linalg.norm(p[1], axis=1) + analysis.errors[ell]) / ratios.lower[ell]
            + np.linalg.norm(p[0], axis=1) * 4 * _RATIO_SLACK / ratios.lower[ell]
            for ell, p in enumerate(parts)
        )
        magnitude = sum(
            np.linalg.norm(p[0], axis=1) / ratios.lower[ell] for ell, p in enumerate(parts)
        )
        value_error = float((errors + 4 * (degree + 3) * _U * magnitude).max()) * (1 + 1e-12)
        value_tensor = torch.from_numpy(np.ascontiguousarray(values))
    else:
        value_tensor = evaluate_target(f, design.points.clone())
        _check_bound(value_tensor.numpy(), bound)
        if analysis is None:
            _check_norms(value_tensor.numpy(), norms, tail, design)
    prefix = core_prefix(design.points, value_tensor, lam)
    offset = _key_offset(points)
    guaranteed = _bound_with_tail(
        norms,
        tail=tail,
        m=m,
        strength=design.strength,
        defect=design.defect,
        lam=lam,
        n_points=len(design),
        max_len=max_len,
        bound=bound,
        deconvolve=deconvolve,
        value_error=value_error,
        key_offset=offset,
    )
    if guaranteed > eps:
        return None
    parameters = DesignParameters(
        eps=eps,
        m=m,
        strength=design.strength,
        n_points=len(design),
        lam=lam,
        defect=design.defect,
        deconvolve=deconvolve,
        value_error=value_error,
        key_offset=offset,
        guaranteed=guaranteed,
        tail_bound=tail,
    )
    return dataclasses.replace(prefix, parameters=parameters, max_len=max_len)
