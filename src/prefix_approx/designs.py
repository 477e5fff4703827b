"""Spherical t-designs and near-designs on S^m with a certified quadrature defect.

A set X = {x_1, ..., x_N} on S^m is a spherical t-design (Delsarte, Goethals and Seidel 1977)
if the equal-weight rule Q(p) = (1/N) sum_i p(x_i) integrates every polynomial of degree at
most t exactly against the normalised surface measure. With Z_l(x, y) = dim_l P_l(<x, y>) the
reproducing kernel of the degree-l spherical harmonics (P_l the Gegenbauer polynomial with
P_l(1) = 1), the defect of degree l is

    D_l(X) = || (1/N) sum_i Z_l(x_i, .) ||_2 = sqrt( dim_l / N^2 sum_ij P_l(<x_i, x_j>) ),

and |Q(p) - I(p)| <= ||p - I(p)||_2 * sqrt(D_1^2 + ... + D_t^2) for every p of degree <= t
(Cauchy-Schwarz, attained). X is a t-design iff D_1 = ... = D_t = 0.

`design_defects` computes certified upper bounds on D_l for the exact unit vectors the
stored float64 points stand for, from the Gram sums above, with every rounding error
enclosed by midpoint-radius (ball) arithmetic and P_l written as a convex combination of
cos(j theta) (so that no three-term recurrence inflates the enclosures). A design's Gram
sums cancel to rounding, and the square root turns that into bounds of about 1e-7 to 1e-5.
(An orthonormal basis of harmonics summed over the points would give bounds of the order of
rounding itself, but its recurrences in ball arithmetic inflate the radii like 2.4^l; the
book does not need the difference.) `spherical_design` returns the package's numerical
designs on S^2 (data/designs_s2.npz) and S^3 (data/designs_s3.npz), which
`compute_spherical_design` rebuilds deterministically by minimising the design energy
sum_l D_l^2 with L-BFGS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from importlib import resources

import numpy as np
import torch
from scipy.optimize import OptimizeResult, minimize

from ._validation import (
    SPHERE_TOLERANCE,
    ArrayLike,
    _source_float_eps,
    as_float64,
    check_flag,
    check_on_sphere,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from .sphere import fibonacci_sphere, random_sphere_points

__all__ = [
    "SphericalDesign",
    "compute_spherical_design",
    "design_defects",
    "harmonic_dimension",
    "shipped_design_strengths",
    "spherical_design",
]

#: Unit roundoff of float64.
_U = 2.0**-53
#: Factor that covers the rounding of a radius computed from a handful of non-negative terms.
_INFLATE = 1.0 + 4e-15
#: Absolute slack for underflow in products (far above the subnormal spacing 4.9e-324).
_TINY = 1e-300

#: Largest number of points times basis functions (or point pairs) `design_defects` handles
#: before refusing: 2^26 float64 numbers are 512 MiB.
MAX_DEFECT_ELEMENTS = 2**26

#: Default work budget of `design_defects`, in units of N^2 (t + 1) (about 60 ns each on the
#: machine the package was calibrated on, so about 15 s; 1000 points at t = 400 is 4e8).
DEFECT_MAX_WORK = 2.5e8
#: Default work budget of `compute_spherical_design`: max_iter times the operations of one
#: energy evaluation (`_energy_operations`, about 10 ns each when calibrated, so about 30 s
#: if every iteration is used; t = 10 on S^2 at the default max_iter is 2.3e9).
DESIGN_MAX_WORK = 3e9
#: Most decimal digits `harmonic_dimension` computes exactly (comb of that size takes ~0.1 s).
MAX_DIMENSION_DIGITS = 10_000


def harmonic_dimension(m: int, degree: int) -> int:
    """Dimension of the space of spherical harmonics of degree `degree` on S^m:
    C(ell+m, m) - C(ell+m-2, m), so 2l+1 on S^2 and (ell+1)^2 on S^3.

    Raises ValueError when the exact dimension would have more than MAX_DIMENSION_DIGITS
    (10000) decimal digits (an exact binomial of that size takes seconds to minutes).

    Used in: book/spherical_designs.ipynb.
    """
    m = check_positive_int(m, "m")
    degree = check_positive_int(degree, "degree", minimum=0)
    if degree < 2:
        return 1 if degree == 0 else m + 1
    digits = (
        math.lgamma(degree + m + 1) - math.lgamma(m + 1) - math.lgamma(degree + 1)
    ) / math.log(10)
    if digits > MAX_DIMENSION_DIGITS:
        raise ValueError(
            f"harmonic_dimension(m={m}, degree={degree}) has about {digits:.3g} decimal digits, "
            f"more than the {MAX_DIMENSION_DIGITS} this function computes exactly; lower m or "
            "degree (its natural logarithm is log(2 degree + m - 1) + lgamma(degree + m - 1) "
            "- lgamma(degree + 1) - lgamma(m))"
        )
    return math.comb(degree + m, m) - math.comb(degree + m - 2, m)


def _check_budget(max_work: object) -> float:
    """`max_work` as a float > 0 (math.inf allowed: no limit), else TypeError/ValueError."""
    if max_work == math.inf and not isinstance(max_work, bool):
        return math.inf
    return check_positive_float(max_work, "max_work")


# ----------------------------------------------------------------- ball arithmetic
# A ball is (mid, rad): the exact value lies in [mid - rad, mid + rad]. Each operation
# returns a ball that encloses every result of the exact operation on members of its
# arguments: |ab - fl(ab)| <= u |fl(ab)| + underflow, and the same for a + b
# (round to nearest); the radius itself is computed from non-negative terms with a few
# roundings, which _INFLATE covers (Rump's midpoint-radius arithmetic).
Ball = tuple[np.ndarray, np.ndarray]


def _ball(mid: np.ndarray | float, rel: float = 0.0) -> Ball:
    """A ball around `mid` with radius `rel` |mid| (rel = 0: an exactly known number)."""
    mid = np.asarray(mid, dtype=np.float64)
    return mid, rel * np.abs(mid)


def _mul(a: Ball, b: Ball) -> Ball:
    mid = a[0] * b[0]
    rad = np.abs(a[0]) * b[1] + np.abs(b[0]) * a[1] + a[1] * b[1] + _U * np.abs(mid)
    return mid, rad * _INFLATE + _TINY


def _add(a: Ball, b: Ball, sign: float = 1.0) -> Ball:
    mid = a[0] + sign * b[0]
    return mid, (a[1] + b[1] + _U * np.abs(mid)) * _INFLATE


def _sum(a: Ball, axis: int) -> Ball:
    """Sum along `axis`: |fl(sum) - sum| <= gamma_n sum |a_i| for any order of summation
    (Higham, Accuracy and Stability of Numerical Algorithms, 2002, section 4.2)."""
    n = a[0].shape[axis]
    gamma = 1.01 * n * _U  # >= n u / (1 - n u) for n u < 0.01
    mid = a[0].sum(axis=axis)
    rad = (a[1].sum(axis=axis) + gamma * np.abs(a[0]).sum(axis=axis)) * (1 + gamma)
    return mid, rad * _INFLATE + _TINY


def _unit_points(points: np.ndarray) -> Ball:
    """Balls around the stored points that contain the unit vectors x / |x| they stand for:
    | x - x/|x| | = | |x| - 1 | <= | |x|^2 - 1 |, and fl(|x|^2) is within 1.01 (m+1) u |x|^2
    of |x|^2."""
    squares = (points * points).sum(axis=1)
    n = points.shape[1]
    off = np.abs(squares - 1.0) + 1.01 * (n + 1) * _U * squares
    return points, np.broadcast_to((off * _INFLATE + _TINY)[:, None], points.shape).copy()


# -------------------------------------------------------------- harmonics on S^2
def _recurrence_constants(ell: int) -> tuple[np.ndarray, np.ndarray]:
    """Holmes-Featherstone coefficients a_lm, b_lm (m = 0..ell-2) of the normalised associated
    Legendre recurrence q_l^m = a z q_(ell-1)^m - b q_(ell-2)^m."""
    m = np.arange(ell - 1, dtype=np.float64)
    a = np.sqrt((4.0 * ell * ell - 1.0) / ((ell - m) * (ell + m)))
    b = np.sqrt(
        (2.0 * ell + 1.0)
        * (ell + m - 1.0)
        * (ell - m - 1.0)
        / ((2.0 * ell - 3.0) * (ell - m) * (ell + m))
    )
    return a, b


def _harmonics_s2(x: torch.Tensor, t: int) -> list[torch.Tensor]:
    """The basis of `_harmonics_s2_balls` in plain float64 torch, differentiable: Y_l(x)
    (N, 2l+1) for ell = 1..t (used by the design energy and its gradient)."""
    X, Y, Z = x[:, 0], x[:, 1], x[:, 2]
    re, im = [torch.ones_like(X)], [torch.zeros_like(X)]
    for _ in range(t):
        r, i = re[-1], im[-1]
        re.append(r * X - i * Y)
        im.append(r * Y + i * X)
    RE, IM = torch.stack(re, 1), torch.stack(im, 1)
    q_prev2 = None
    q_prev = torch.ones_like(Z)[:, None]
    qmm = 1.0
    out = []
    for ell in range(1, t + 1):
        qmm *= math.sqrt((2 * ell + 1) / (2 * ell))
        parts = []
        if ell >= 2 and q_prev2 is not None:
            a, b = (torch.from_numpy(c) for c in _recurrence_constants(ell))
            parts.append(a * Z[:, None] * q_prev[:, : ell - 1] - b * q_prev2[:, : ell - 1])
        parts.append(math.sqrt(2 * ell + 1) * Z[:, None] * q_prev[:, ell - 1 :])
        parts.append(torch.full_like(Z[:, None], qmm))
        q = torch.cat(parts, 1)
        scaled = math.sqrt(2.0) * q[:, 1:]
        out.append(
            torch.cat([q[:, :1], scaled * RE[:, 1 : ell + 1], scaled * IM[:, 1 : ell + 1]], 1)
        )
        q_prev2, q_prev = torch.cat([q_prev, torch.zeros_like(Z[:, None])], 1), q
    return out


# ------------------------------------------------------------- Gegenbauer (any m)
def _gegenbauer_balls(g: Ball, m: int, t: int) -> list[Ball]:
    """Balls around P_l(g) for ell = 0..t, P_l the Gegenbauer polynomial of S^m normalised by
    P_l(1) = 1, from the three-term recurrence
    (ell + m - 1) P_(ell+1) = (2l + m - 1) g P_l - ell P_(ell-1) (exact integer coefficients)."""
    out = [(np.ones_like(g[0]), np.zeros_like(g[0])), g]
    for ell in range(1, t):
        c1 = _ball((2.0 * ell + m - 1) / (ell + m - 1), _U)
        c2 = _ball(ell / (ell + m - 1.0), _U)
        out.append(_add(_mul(_mul(c1, g), out[-1]), _mul(c2, out[-2]), -1.0))
    return out[: t + 1]


def _gram_balls(a: Ball, b: Ball) -> Ball:
    """Balls around <a_i, b_j> (N, M) for balls of points a (N, d), b (M, d)."""
    mid = a[0] @ b[0].T
    d = a[0].shape[1]
    gamma = 1.01 * d * _U
    abs_a, abs_b = np.abs(a[0]), np.abs(b[0])
    rad = (abs_a @ b[1].T + a[1] @ abs_b.T + a[1] @ b[1].T) * (1 + gamma) + gamma * (
        abs_a @ abs_b.T
    )
    return mid, rad * (1 + 2 * gamma) * _INFLATE + _TINY


def _check_points(points: ArrayLike, name: str = "points") -> tuple[np.ndarray, bool]:
    """Points (N, m+1), m >= 2, as a float64 array (converted exactly), on the unit sphere
    within the rounding of their dtype (1e-9 for float64, 32 ulp for narrower floats, as
    `as_sphere_points`), and whether they came in a float type narrower than float64."""
    array = as_float64(points, name, ndim=2)
    if array.shape[1] < 3:
        raise ValueError(
            f"{name} must be points of S^m with m >= 2 (3 or more columns); got shape "
            f"{tuple(array.shape)} (on S^1 use equally spaced points, circle_points)"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: give at least one point")
    source = _source_float_eps(points)
    check_on_sphere(array, name, tol=max(SPHERE_TOLERANCE, 32 * source))
    return array.numpy(), bool(source > np.finfo(np.float64).eps)


def _normalised_points(points: np.ndarray) -> Ball:
    """Balls around y = fl(x / fl(sqrt(fl(sum x^2)))) that contain the exact unit vectors
    x / |x|: |fl(sum x^2) - |x|^2| <= gamma_(d+1) |x|^2 (squares and sum), the square root and
    the division add a unit roundoff each, so |y_i - x_i/|x|| <= (gamma/2 + 2u) |y_i| up to
    second-order terms, which the factor 1.1 covers (for narrow-dtype input, whose norms
    are off by ~1e-7 and would otherwise widen every ball to that size)."""
    d = points.shape[1]
    gamma = 1.01 * (d + 1) * _U
    unit = points / np.sqrt((points * points).sum(axis=1))[:, None]
    return unit, (1.1 * (gamma / 2 + 2 * _U)) * np.abs(unit) * _INFLATE + _TINY


def _cosine_coefficients(m: int, ell: int) -> np.ndarray:
    """p_k >= 0, k = 0..ell, sum 1, with P_l(cos theta) = sum_k p_k cos((ell - 2k) theta) for the
    Gegenbauer polynomial of S^m normalised by P_l(1) = 1: the classical expansion
    C_l^a(cos theta) = sum_k (a)_k (a)_(ell-k) / (k! (ell-k)!) cos((ell-2k) theta), a = (m-1)/2
    (Szego, Orthogonal Polynomials, (4.9.19)), computed exactly in fractions, then rounded."""
    alpha = Fraction(m - 1, 2)
    rising = [Fraction(1)]
    for i in range(ell):
        rising.append(rising[-1] * (alpha + i) / (i + 1))
    terms = [rising[k] * rising[ell - k] for k in range(ell + 1)]
    total = sum(terms)
    return np.array([float(term / total) for term in terms])


def _cosine_sums(gram: Ball, t: int) -> list[Ball]:
    """Balls around C_j = sum_ij cos(j theta_ij), j = 0..t, for cos theta_ij in the balls
    `gram`: the powers of w = cos theta + i sin theta have modulus 1, so their radii grow
    only linearly in j (a three-term recurrence in ball arithmetic lets them grow like
    2.4^j)."""
    g_mid = np.clip(gram[0], -1.0, 1.0)
    g_low = np.clip(g_mid - gram[1], -1.0, 1.0)
    g_high = np.clip(g_mid + gram[1], -1.0, 1.0)
    # sin theta = sqrt(1 - g^2) decreases in |g|: enclose it from the ends of the ball.
    straddles = (g_low <= 0) & (g_high >= 0)
    abs_low = np.where(straddles, 0.0, np.minimum(np.abs(g_low), np.abs(g_high)))
    abs_high = np.maximum(np.abs(g_low), np.abs(g_high))
    s_high = np.sqrt(np.maximum(1.0 - abs_low * abs_low, 0.0) * (1 + 4 * _U) + 4 * _U)
    s_low = np.sqrt(np.maximum((1.0 - abs_high * abs_high) * (1 - 4 * _U) - 4 * _U, 0.0))
    s_low = s_low * (1 - 2 * _U)
    c: Ball = (g_mid, gram[1] + _U * np.abs(g_mid))
    s: Ball = ((s_high + s_low) / 2, (s_high - s_low) / 2 * (1 + 4 * _U) + _U * s_high)
    power_re: Ball = (np.ones_like(g_mid), np.zeros_like(g_mid))
    power_im: Ball = (np.zeros_like(g_mid), np.zeros_like(g_mid))
    sums = [_sum(_sum(power_re, 1), 0)]
    for _ in range(t):
        power_re, power_im = (
            _add(_mul(power_re, c), _mul(power_im, s), -1.0),
            _add(_mul(power_re, s), _mul(power_im, c)),
        )
        sums.append(_sum(_sum(power_re, 1), 0))
    return sums


def design_defects(points: ArrayLike, t: int, *, max_work: float = DEFECT_MAX_WORK) -> torch.Tensor:
    """Certified upper bounds on the defects D_1(X), ..., D_t(X), shape (t,), float64, of the
    equal-weight rule on the unit vectors x_i / |x_i| of `points` (N, m+1), m >= 2: for every
    polynomial p of degree <= t, |Q(p) - I(p)| <= ||p - I(p)||_2 sqrt(sum_l D_l^2), and D_l
    is exactly zero for ell <= t iff those unit vectors form a t-design.

    Computed from the Gram sums D_l^2 = dim_l / N^2 sum_ij P_l(<x_i, x_j>), with P_l written
    as a convex combination of cos(j theta) and every rounding enclosed by ball arithmetic
    (Rump 1999). For a design the sums vanish up to rounding, so the bounds are about the
    square root of the rounding (1e-7 to 1e-6), not zero. Points in a narrower float type
    (float32) are checked against the sphere within 32 units in their last place and the
    bounds hold for the exact unit vectors x / |x| of the stored values. Raises ValueError
    for points off the sphere, on S^1, needing more than MAX_DEFECT_ELEMENTS numbers of
    work space, or work N^2 (t + 1) above `max_work` (default DEFECT_MAX_WORK = 2.5e8,
    about 15 s; pass a larger max_work, or math.inf, to accept a longer run).

    Source: the definition of Delsarte, Goethals and Seidel (1977); the bound is the book's
    (chapter "Smooth targets on every sphere", lemma lem-design-defect).

    Used in: book/spherical_designs.ipynb.
    """
    array, narrow = _check_points(points)
    t = check_positive_int(t, "t", maximum=400)
    max_work = _check_budget(max_work)
    n, d = array.shape
    m = d - 1
    work = 8 * n * n
    if work > MAX_DEFECT_ELEMENTS:
        raise ValueError(
            f"design_defects would hold about {work:.3g} numbers (8 N^2) at once, more than "
            f"{MAX_DEFECT_ELEMENTS}; ask for fewer points"
        )
    operations = float(n) * n * (t + 1)
    if operations > max_work:
        raise ValueError(
            f"design_defects of {n} points at t = {t} is about {operations:.3g} units of work "
            f"(N^2 (t + 1); roughly {operations * 6e-8:.3g} s at 60 ns each), more than "
            f"max_work = {max_work:.3g}; lower t or the number of points, or pass a larger "
            "max_work (math.inf for no limit) to accept the longer run"
        )
    unit = _normalised_points(array) if narrow else _unit_points(array)
    sums = _cosine_sums(_gram_balls(unit, unit), t)
    out = []
    for ell in range(1, t + 1):
        p = _cosine_coefficients(m, ell)
        total: Ball = (np.array(0.0), np.array(0.0))
        for k in range(ell + 1):
            total = _add(total, _mul(_ball(p[k], _U), sums[abs(ell - 2 * k)]))
        upper = max(float(total[0] + total[1]), 0.0) * harmonic_dimension(m, ell) / (n * n)
        out.append(math.sqrt(upper * (1 + 1e-14)) * (1 + 1e-15) + _TINY)
    return torch.tensor(out, dtype=torch.float64)


# ------------------------------------------------------------------ the designs
@dataclass(frozen=True)
class SphericalDesign:
    """A numerical spherical design: `points` (N, m+1) float64, meant to integrate degree
    <= `strength` exactly; `defects` (strength,) certified upper bounds on D_1..D_t
    (`design_defects`), and `defect` = sqrt(sum D_l^2), the worst-case error of the rule
    on polynomials p of degree <= t with ||p - I(p)||_2 <= 1.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    points: torch.Tensor
    strength: int
    defects: torch.Tensor
    defect: float

    def __len__(self) -> int:
        return self.points.shape[0]

    @property
    def m(self) -> int:
        """The sphere S^m the points lie on."""
        return self.points.shape[1] - 1


def _design_size(m: int, t: int) -> int:
    """Points the package uses for a design of strength t: on S^2, ceil((t+1)^2 / 2) + t
    (the square count (t+1)^2/2 of efficient designs, plus t points of slack, with which
    L-BFGS from a Fibonacci start converges reliably); on S^3, the number of conditions
    sum_(ell=1..t) (ell+1)^2 divided by the 3 degrees of freedom of a point, plus t + 2."""
    if m == 2:
        return math.ceil((t + 1) ** 2 / 2) + t
    conditions = sum(harmonic_dimension(m, ell) for ell in range(1, t + 1))
    return math.ceil(conditions / m) + t + 2


def _energy_torch(v: torch.Tensor, m: int, t: int) -> torch.Tensor:
    """Design energy sum_(ell=1..t) D_l^2 of the points v / |v| (float64, differentiable)."""
    x = v / torch.linalg.vector_norm(v, dim=1, keepdim=True)
    if m == 2:
        return sum((h.mean(0) ** 2).sum() for h in _harmonics_s2(x, t))  # type: ignore[return-value]
    g = (x @ x.T).clamp(-1.0, 1.0)
    n = x.shape[0]
    p_prev, p = torch.ones_like(g), g
    total = harmonic_dimension(m, 1) * p.sum() / n**2
    for ell in range(1, t):
        p_prev, p = p, ((2 * ell + m - 1) * g * p - ell * p_prev) / (ell + m - 1)
        total = total + harmonic_dimension(m, ell + 1) * p.sum() / n**2
    return total


def _energy_operations(m: int, n: int, t: int) -> float:
    """Rough operations (about 10 ns each) of one evaluation of `_energy_torch` and its
    gradient for n points at strength t, calibrated on small cases: the harmonics on S^2
    cost about 3 n (t+1)^2, the Gram recurrence on S^3 about 1.2 n^2 t, plus a fixed
    overhead per degree."""
    if m == 2:
        return 3.0 * n * (t + 1) ** 2 + 5e4 * (t + 1)
    return 1.2 * n * n * t + 1e4 * (t + 5)


def _start_points(m: int, n: int, seed: int) -> torch.Tensor:
    """Fibonacci points on S^2; seeded random points on S^3 (there is no spiral there)."""
    if m == 2:
        return fibonacci_sphere(n)
    return random_sphere_points(n, m, seed=seed)


def compute_spherical_design(
    t: int,
    *,
    m: int = 2,
    n_points: int | None = None,
    seed: int = 0,
    max_iter: int = 4000,
    target_energy: float = 1e-20,
    max_work: float = DESIGN_MAX_WORK,
) -> SphericalDesign:
    """Build a numerical t-design on S^m (m = 2 or 3) by minimising the design energy
    A_t(X) = sum_(ell=1..t) D_l(X)^2 over the points with scipy's L-BFGS-B (the standard
    route of Graef and Potts 2011 and Womersley 2018, here without their Newton
    refinement), from Fibonacci points on S^2 or seeded random points on S^3, until the
    energy falls below `target_energy` (a defect of about its square root) or `max_iter`
    iterations; the result is then certified by `design_defects`. Deterministic for fixed
    arguments (torch runs on one thread meanwhile). Default sizes: ceil((t+1)^2/2) + t
    points on S^2. Raises ValueError past 1000 points on S^3 or 20000 on S^2, and when
    max_iter times the estimated operations of one energy evaluation (about 3 N (t+1)^2 on
    S^2, 1.2 N^2 t on S^3, plus per-degree overhead; see `_energy_operations`) exceeds
    `max_work` (default DESIGN_MAX_WORK = 3e9, about 30 s if every iteration runs; lower
    max_iter or pass a larger max_work, math.inf for no limit, to accept a longer run).

    Used in: book/spherical_designs.ipynb.
    """
    t = check_positive_int(t, "t", maximum=200)
    m = check_positive_int(m, "m", minimum=2, maximum=3)
    seed = check_seed(seed)
    max_iter = check_positive_int(max_iter, "max_iter")
    target_energy = check_positive_float(target_energy, "target_energy")
    n = _design_size(m, t) if n_points is None else check_positive_int(n_points, "n_points")
    limit = 20_000 if m == 2 else 1000
    if n > limit:
        raise ValueError(f"a design of {n} points on S^{m} is more than this builder's {limit}")
    max_work = _check_budget(max_work)
    operations = max_iter * _energy_operations(m, n, t)
    if operations > max_work:
        raise ValueError(
            f"compute_spherical_design(t={t}, m={m}) with {n} points and max_iter = {max_iter} "
            f"could take about {operations:.3g} operations (max_iter x one energy evaluation; "
            f"roughly {operations * 1e-8:.3g} s at 10 ns each), more than max_work = "
            f"{max_work:.3g}; lower t, n_points or max_iter, or pass a larger max_work "
            "(math.inf for no limit) to accept the longer run"
        )
    start = _start_points(m, n, seed).numpy().ravel()

    def energy_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        v = torch.from_numpy(flat).reshape(n, m + 1).requires_grad_(True)
        energy = _energy_torch(v, m, t)
        energy.backward()
        assert v.grad is not None
        return float(energy.detach()), v.grad.numpy().ravel().copy()

    best_energy = [math.inf]
    best_x = [start]

    def stop_when_small(intermediate_result: OptimizeResult) -> None:
        # scipy passes the current iterate to a callback with exactly this parameter name
        energy = float(intermediate_result.fun)
        if energy < best_energy[0]:
            best_energy[0], best_x[0] = energy, intermediate_result.x.copy()
        if energy < target_energy:
            raise StopIteration

    options = {"maxiter": max_iter, "maxfun": 2 * max_iter, "maxcor": 30, "ftol": 0.0, "gtol": 0.0}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        minimize(
            energy_and_gradient,
            start,
            jac=True,
            method="L-BFGS-B",
            options=options,
            callback=stop_when_small,
        )
    finally:
        torch.set_num_threads(threads)
    v = torch.from_numpy(best_x[0]).reshape(n, m + 1)
    points = v / torch.linalg.vector_norm(v, dim=1, keepdim=True)
    return _certified(points, t)


def _certified(
    points: torch.Tensor, t: int, defects: torch.Tensor | None = None
) -> SphericalDesign:
    if defects is None:
        # the caller has accepted the cost of building the design; certifying it is cheaper
        defects = design_defects(points, t, max_work=math.inf)
    defect = float(torch.sqrt((defects**2).sum())) * (1 + 1e-14)
    return SphericalDesign(points=points, strength=t, defects=defects, defect=defect)


@lru_cache(maxsize=4)
def _shipped(m: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Shipped designs on S^m: strength -> (points, defects certified by `design_defects`
    when the file was written; tests/test_designs.py recomputes them)."""
    name = f"designs_s{m}.npz"
    with resources.files("prefix_approx").joinpath("data", name).open("rb") as handle:
        archive = np.load(handle)
        return {
            int(key[1:]): (archive[key], archive["d" + key[1:]])
            for key in archive.files
            if key.startswith("t")
        }


def shipped_design_strengths(m: int = 2) -> list[int]:
    """The strengths t of the designs shipped with the package for S^m (m = 2 or 3).

    Used in: book/spherical_designs.ipynb.
    """
    m = check_positive_int(m, "m", minimum=2, maximum=3)
    return sorted(_shipped(m))


def spherical_design(t: int, *, m: int = 2, certify: bool = False) -> SphericalDesign:
    """The package's numerical t-design on S^m (m = 2 or 3), from its data files
    (src/prefix_approx/data/designs_s<m>.npz) with the defects `design_defects` certified
    when the file was written; `certify=True` recomputes them from the points (seconds for
    the largest designs; the tests do it for every shipped design). Raises ValueError for a
    strength that is not shipped (see `shipped_design_strengths`;
    `compute_spherical_design` builds others).

    Used in: book/spherical_designs.ipynb.
    """
    t = check_positive_int(t, "t")
    m = check_positive_int(m, "m", minimum=2, maximum=3)
    certify = check_flag(certify, "certify")
    shipped = _shipped(m)
    if t not in shipped:
        raise ValueError(
            f"no shipped design of strength t = {t} on S^{m}; shipped: {sorted(shipped)} "
            "(compute_spherical_design builds others)"
        )
    points, defects = shipped[t]
    stored = None if certify else torch.from_numpy(defects.copy())
    return _certified(torch.from_numpy(points.copy()), t, stored)
