"""Error bounds for the core head and the prefix lengths they imply.

- `density_error_bound` and `density_parameters`: the error of the density construction for
  any continuous target with a known modulus of continuity (the book's proof of Theorem 1).
- `lipschitz_error_bound` and `lipschitz_parameters`: the same for L-Lipschitz targets, the
  book's Jackson-type bound (result C), with every constant explicit.
- `bessel_ratios` and `smooth_circle_error_bound`: the book's bound for smooth targets on the
  circle (result D), in terms of ratios of modified Bessel functions I_n(lam) / I_0(lam).
- `paper_prefix_length_exponent`: the exponent 10 + 14m + 4m^2 of the paper's bound.

Everything here is a formula; the constructions that use them live in `core_head`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import ive

from ._validation import (
    ArrayLike,
    as_float64,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
)
from .sphere import delta_net_size_bound

__all__ = [
    "DensityParameters",
    "SmoothParameters",
    "bessel_ratios",
    "density_error_bound",
    "density_parameters",
    "lipschitz_delta",
    "lipschitz_error_bound",
    "lipschitz_parameters",
    "lipschitz_prefix_length_bound",
    "modulus_delta",
    "paper_prefix_length_exponent",
    "smooth_circle_error_bound",
    "smooth_circle_parameters",
]

#: The largest net radius delta the Lipschitz construction uses. The far term needs only
#: 2 delta <= pi (cos decreases on [0, pi], so points farther than 2 delta have
#: <x, c> < cos 2 delta); delta <= pi/4 keeps cos(delta) >= 1/sqrt(2) for the input term.
MAX_DELTA = math.pi / 4


def density_error_bound(
    *,
    near_error: float,
    bound: float,
    n_points: int,
    radius: float,
    split: float,
    lam: float,
    max_len: int,
) -> float:
    """Worst-case sup error of the core head with control points c_j forming a net of
    covering radius `radius`, values v_j = f(c_j), inverse temperature `lam` and at most
    `max_len` input tokens, for any f with sup |f| <= `bound` that changes by at most
    `near_error` between points within `split` of each other:

        near_error + 2 B N exp(-lam (cos radius - cos split)) + B T exp(-lam cos radius).

    Control points within `split` of x are "near" (first term); the others are "far" (second
    term); the last term is the attention taken by the T input tokens. Needs
    radius < split <= pi/2. All angles in radians.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    near_error = check_nonnegative_float(near_error, "near_error")
    bound = check_nonnegative_float(bound, "bound")
    n_points = check_positive_int(n_points, "n_points")
    radius = check_positive_float(radius, "radius")
    split = check_positive_float(split, "split")
    lam = check_nonnegative_float(lam, "lam")
    max_len = check_positive_int(max_len, "max_len", minimum=0, maximum=MAX_SEQUENCE_LENGTH)
    if not radius < split <= math.pi / 2:
        raise ValueError(f"need radius < split <= pi/2; got radius={radius}, split={split}")
    gap = _cos_gap(radius, split)
    weight = 2.0 * bound * n_points
    far = (  # 2 B N overflows at B = 1e308: in the log domain there
        weight * math.exp(-lam * gap)
        if weight < math.inf
        else _scaled_exp(bound, n_points, math.log(2.0) - lam * gap)
    )
    inputs = _scaled_exp(bound, max_len, -lam * math.cos(radius))
    return near_error + far + inputs


#: Longest sequence length a bound accepts: any count a float64 holds (10^300), so that
#: chapters can show what a prefix promises for absurdly long sequences.
MAX_SEQUENCE_LENGTH = 10**300


def _scaled_exp(bound: float, count: int, exponent: float) -> float:
    """bound * count * exp(exponent) for bound, count >= 0, in the log domain: no factor
    overflows on its own (B = 1e10 times T = 10^300 times exp(-2000) is 0, not inf * 0).
    Results beyond float64 are returned as inf."""
    if bound == 0 or count == 0:
        return 0.0
    log_value = math.log(bound) + math.log(count) + exponent
    return math.inf if log_value > 709.78 else math.exp(log_value)


def _cos_gap(radius: float, split: float) -> float:
    """cos(radius) - cos(split), as 2 sin((split + radius)/2) sin((split - radius)/2), which
    keeps its relative accuracy when both angles are tiny (the difference of cosines near 1
    cancels: at radius 0.9e-8 and split 2e-8 it loses every digit)."""
    return 2.0 * math.sin((split + radius) / 2.0) * math.sin((split - radius) / 2.0)


def lipschitz_error_bound(
    *,
    lipschitz: float,
    bound: float,
    n_points: int,
    radius: float,
    split: float,
    lam: float,
    max_len: int,
) -> float:
    """`density_error_bound` for an L-Lipschitz target (geodesic distance), whose near error
    is L * split:

        L * split + 2 B N exp(-lam (cos radius - cos split)) + B T exp(-lam cos radius).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    lipschitz = check_nonnegative_float(lipschitz, "lipschitz")
    split_value = check_positive_float(split, "split")
    return density_error_bound(
        near_error=lipschitz * split_value,
        bound=bound,
        n_points=n_points,
        radius=radius,
        split=split,
        lam=lam,
        max_len=max_len,
    )


@dataclass(frozen=True)
class DensityParameters:
    """The choices of the density construction for accuracy `eps`: the net's target radius
    `delta` (radians), the near/far split 2 delta, the inverse temperature `lam`, for a net of
    `n_points` points with certified `radius` <= delta; `near_error` is the target's largest
    change over distance 2 delta (at most eps/2) and `guaranteed` the resulting worst-case
    error, at most `eps`.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    eps: float
    delta: float
    radius: float
    n_points: int
    lam: float
    near_error: float
    guaranteed: float


#: Smallest net radius `lipschitz_delta` returns: below it the spacing of (subnormal) floats,
#: 4.9e-324, is more than 1e-12 of the radius.
_MIN_DELTA = 1e-311


def lipschitz_delta(*, eps: float, lipschitz: float) -> float:
    """The net radius of result C: delta = eps / (4 L), capped at pi/4 (any radius works for a
    constant target, L = 0).

    Both arguments are keyword-only. Computed as (eps / 4) / L, which does not overflow at
    L = 1e308. Raises TypeError or ValueError naming `eps` (a finite number > 0) or
    `lipschitz` (finite, >= 0), and ValueError when eps / (4 L) is below 1e-311, where the
    float spacing (5e-324) is more than 1e-12 of it and it would round towards 0 (a net of
    that radius would have more than 10^310 points on any sphere).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    eps = check_positive_float(eps, "eps")
    lipschitz = check_nonnegative_float(lipschitz, "lipschitz")
    if lipschitz == 0:
        return MAX_DELTA
    delta = (eps * 0.25) / lipschitz
    if not delta >= _MIN_DELTA:
        raise ValueError(
            f"eps = {eps:g} and lipschitz = {lipschitz:g} make the net radius "
            f"delta = eps / (4 lipschitz) = {delta:.3g}, below {_MIN_DELTA:g}, where floats "
            "lose its digits: no net of that radius can be built (it would have more than "
            "10^310 points); use a larger eps or a smaller lipschitz"
        )
    return min(delta, MAX_DELTA)


def modulus_value(modulus: Callable[[float], float], t: float, name: str) -> float:
    """modulus(t) as a float, checked: a real number, finite and >= 0 (TypeError or ValueError
    naming `name` otherwise). Shared by every builder that takes a modulus of continuity."""
    returned = modulus(t)
    try:
        value = float(returned)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must return a real number; got {returned!r:.40} at {t}") from err
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must return finite values >= 0; got {value} at {t}")
    return value


def modulus_delta(modulus: Callable[[float], float], *, eps: float) -> float:
    """The largest net radius delta <= pi/4 (to 1e-12 relative) with modulus(2 delta) <= eps/2,
    by bisection, for a modulus of continuity `modulus`: a nondecreasing function with
    |f(x) - f(y)| <= modulus(d(x, y)) and modulus(t) -> 0 as t -> 0.

    `eps` is keyword-only.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    eps = check_positive_float(eps, "eps")
    if not callable(modulus):
        raise TypeError(f"modulus must be a function of a distance; got {modulus!r:.60}")

    def ok(delta: float) -> bool:
        return modulus_value(modulus, 2.0 * delta, "modulus") <= eps / 2

    if ok(MAX_DELTA):
        return MAX_DELTA
    low, high = 0.0, MAX_DELTA
    for _ in range(200):
        middle = (low + high) / 2
        if ok(middle):
            low = middle
        else:
            high = middle
        if low > 0 and high - low <= 1e-12 * low:
            break
    if low == 0.0 or not ok(low):
        raise ValueError(
            "no delta > 0 has modulus(2 delta) <= eps/2: a modulus of continuity must tend "
            "to 0 at 0"
        )
    return low


def density_parameters(
    *,
    eps: float,
    near_error: float,
    delta: float,
    bound: float,
    n_points: int,
    radius: float,
    max_len: int,
) -> DensityParameters:
    """Choose the inverse temperature of the density construction for a net already built.

    Given a target whose change over distance 2 delta is at most `near_error` <= eps/2, a net
    of `n_points` points with certified `radius` <= delta, split 2 delta, and

        lam = max( ln(8 B N / eps) / (cos r - cos 2 delta),  ln(4 B T / eps) / cos r,  1 ),

    the three terms of `density_error_bound` are at most eps/2, eps/4 and eps/4 (the floor
    of 1 only lowers them, and keeps lam > 0 so the control points can be read back).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    eps = check_positive_float(eps, "eps")
    near_error = check_nonnegative_float(near_error, "near_error")
    delta = check_positive_float(delta, "delta")
    bound = check_positive_float(bound, "bound")
    n_points = check_positive_int(n_points, "n_points")
    radius = check_positive_float(radius, "radius")
    max_len = check_positive_int(max_len, "max_len", minimum=0, maximum=MAX_SEQUENCE_LENGTH)
    if near_error > eps / 2 * (1 + 1e-12):
        raise ValueError(f"near_error {near_error} must be at most eps/2 = {eps / 2}")
    if delta > MAX_DELTA * (1 + 1e-12):
        raise ValueError(f"delta must be at most pi/4; got {delta}")
    if radius > delta * (1 + 1e-12):
        raise ValueError(f"the net's radius {radius} exceeds delta = {delta}")
    split = 2.0 * delta
    # 8 B N / eps overflows at B = 1e308, and the gap underflows to 0 (a ZeroDivisionError)
    # at delta = radius = 1e-300: logarithms there, the plain quotients elsewhere.
    gap = _cos_gap(radius, split)
    lam_far = _log_quotient(8.0 * bound * n_points / eps, (8.0, bound, n_points), eps)
    lam_far = lam_far / gap if gap > 0 else math.inf if lam_far > 0 else 0.0
    if not lam_far <= _MAX_LAM:
        log_gap = (
            math.log(2.0)
            + math.log(math.sin((split + radius) / 2.0))
            + math.log(math.sin((split - radius) / 2.0))
        ) / math.log(10.0)
        log_ratio = _log_quotient(math.inf, (8.0, bound, n_points), eps)
        log10_lam = math.log10(log_ratio) - log_gap
        raise _TemperatureOverflowError(
            log10_lam,
            f"delta = {delta:g} and radius = {radius:g} leave a gap cos(radius) - cos(2 delta) "
            f"of only about 10^{log_gap:.0f} between near and far control points; the inverse "
            f"temperature it needs, about 10^{log10_lam:.0f}, is beyond a float "
            f"({_MAX_LAM:.2g}): use a larger delta",
        )
    lam_inputs = (
        (_log_quotient(4.0 * bound / eps, (4.0, bound), eps) + math.log(max_len)) / math.cos(radius)
        if max_len
        else 0.0
    )
    lam = max(lam_far, lam_inputs, 1.0)
    guaranteed = density_error_bound(
        near_error=near_error,
        bound=bound,
        n_points=n_points,
        radius=radius,
        split=split,
        lam=lam,
        max_len=max_len,
    )
    return DensityParameters(eps, delta, radius, n_points, lam, near_error, guaranteed)


#: Largest lam `density_parameters` returns (the largest float, 1.8e308).
_MAX_LAM = sys.float_info.max


def _log_quotient(quotient: float, factors: tuple[float, ...], divisor: float) -> float:
    """log(quotient) for quotient = prod(factors) / divisor (all > 0), from the logarithms of
    the factors when the quotient itself overflowed or underflowed (so that the values a
    float holds come out bit for bit as before)."""
    if 1e-300 < quotient < math.inf:
        return math.log(quotient)
    return math.fsum([*(math.log(f) for f in factors), -math.log(divisor)])


class _TemperatureOverflowError(ValueError):
    """The inverse temperature a construction needs is beyond a float; `log10_lam` says how
    far, so that callers can name their own arguments."""

    def __init__(self, log10_lam: float, message: str) -> None:
        super().__init__(message)
        self.log10_lam = log10_lam


def lipschitz_parameters(
    *,
    eps: float,
    lipschitz: float,
    bound: float,
    n_points: int,
    radius: float,
    max_len: int,
) -> DensityParameters:
    """`density_parameters` for an L-Lipschitz target (result C): delta = eps / (4L) (capped
    at pi/4) and near error 2 L delta <= eps/2.

    Used in: book/corollary2_elementwise.ipynb.
    """
    lipschitz = check_nonnegative_float(lipschitz, "lipschitz")
    delta = lipschitz_delta(eps=eps, lipschitz=lipschitz)
    try:
        return density_parameters(
            eps=eps,
            near_error=2.0 * (lipschitz * delta),  # 2 L overflows at L = 1e308
            delta=delta,
            bound=bound,
            n_points=n_points,
            radius=radius,
            max_len=max_len,
        )
    except _TemperatureOverflowError as err:
        raise ValueError(
            f"eps = {eps:g} with lipschitz = {lipschitz:g} makes the net radius "
            f"delta = eps / (4 lipschitz) = {delta:.3g}, and the inverse temperature it needs "
            f"(about 10^{err.log10_lam:.0f}) is beyond a float: use a larger eps or a smaller "
            "lipschitz"
        ) from err


def lipschitz_prefix_length_bound(m: int, *, eps: float, lipschitz: float) -> int:
    """Result C's count: the prefix `build_prefix(f, m=m, eps=eps, lipschitz=L, ...)` has at
    most N <= 2 (m+1) ceil(pi sqrt(2m) L / eps)^m tokens on S^m (m >= 2) and
    ceil(4 pi L / eps) on S^1 (a net of radius delta = eps / (4L), capped at pi/4), whatever
    the bound B and the sequence length. The tests check it against every built prefix.

    Used in: book/theorem1_density.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    m = check_positive_int(m, "m")
    delta = lipschitz_delta(eps=eps, lipschitz=lipschitz)
    try:
        return delta_net_size_bound(m, delta)
    except ValueError as err:
        raise ValueError(
            f"lipschitz_prefix_length_bound(m = {m}, eps = {eps:g}, lipschitz = {lipschitz:g}): "
            f"{err} (delta = eps / (4 lipschitz); a larger eps, a smaller lipschitz or a lower m "
            "lowers it)"
        ) from err


def paper_prefix_length_exponent(m: int) -> int:
    """The exponent d of the paper's bound N = O(eps^-d) on S^m: d = 10 + 14 m + 4 m^2, as
    quoted by the authors' follow-up work (the constant in front is not known to us).

    Used in: book/course.ipynb, book/theorem1_density.ipynb,
    book/theorem4_jackson_bounds.ipynb.
    """
    m = check_positive_int(m, "m")
    return 10 + 14 * m + 4 * m * m


#: Largest n_max `bessel_ratios` accepts: 10^7 ratios are 80 MB.
MAX_BESSEL_ORDER = 10**7

#: Above this lam, `bessel_ratios` takes the ratios from scipy's exponentially scaled Bessel
#: functions instead of the backward recurrence, whose length grows like lam / 4.
_RECURRENCE_MAX_LAM = 1e6

#: Largest lam `bessel_ratios` accepts: scipy.special.ive returns NaN from about 1.07e9 on.
MAX_BESSEL_LAM = 1e9


def bessel_ratios(lam: float, n_max: int) -> torch.Tensor:
    """Ratios I_n(lam) / I_0(lam) of modified Bessel functions of the first kind for
    n = 0..n_max, shape (n_max + 1,), float64, by Miller's backward recurrence
    I_(n-1) = (2n / lam) I_n + I_(n+1), which is stable in this direction; for lam > 1e6,
    from scipy.special.ive (relative accuracy about 1e-13). For lam = 0 the ratios are
    1, 0, 0, ... Orders n >= 760 + sqrt(760^2 + 1520 lam) are returned as 0 without being
    computed: there the ratio is below exp(-n^2 / (2 (lam + n))) <= exp(-760) < 1e-330 (the
    book's consequence of Amos's bounds), which rounds to 0 in float64. Raises ValueError for
    n_max > MAX_BESSEL_ORDER (10^7) and for lam > MAX_BESSEL_LAM (10^9), where scipy's ive
    gives NaN.

    Used in: book/beyond_saturation.ipynb, book/theorem1_density.ipynb,
    book/theorem4_jackson_bounds.ipynb.
    """
    lam = check_nonnegative_float(lam, "lam")
    n_max = check_positive_int(n_max, "n_max", minimum=0)
    if n_max > MAX_BESSEL_ORDER:
        raise ValueError(
            f"n_max must be at most {MAX_BESSEL_ORDER}; got {n_max} "
            f"({8 * (n_max + 1) / 2**20:.3g} MiB of ratios)"
        )
    if lam > MAX_BESSEL_LAM:
        raise ValueError(
            f"lam must be at most {MAX_BESSEL_LAM:g}; got {lam:g}: beyond it scipy's "
            "exponentially scaled Bessel functions return NaN"
        )
    ratios = torch.zeros(n_max + 1, dtype=torch.float64)
    ratios[0] = 1.0
    if lam == 0:
        return ratios
    # Beyond this order exp(-n^2 / (2 (lam + n))) < exp(-760): the ratios round to 0.
    computed = min(n_max, math.ceil(760 + math.sqrt(760**2 + 1520 * lam)))
    if lam > _RECURRENCE_MAX_LAM:
        orders = np.arange(computed + 1, dtype=np.float64)
        ratios[: computed + 1] = torch.from_numpy(ive(orders, lam) / ive(0.0, lam))
        return ratios
    # Start far enough above both `computed` and lam that the neglected tail is below rounding.
    start = computed + 20 + int(2 * math.sqrt(40 * (lam + computed))) + int(lam // 4)
    ratio = 0.0  # r_n = I_(n+1) / I_n, from r_(n-1) = 1 / (2n / lam + r_n)
    r = [0.0] * computed  # only the ratios that are returned are kept
    for n in range(start, 0, -1):
        ratio = 1.0 / (2.0 * n / lam + ratio)
        if n <= computed:
            r[n - 1] = ratio
    steps = torch.tensor(r, dtype=torch.float64)
    ratios[1 : computed + 1] = torch.cumprod(steps, dim=0)
    return ratios


@dataclass(frozen=True)
class SmoothParameters:
    """The choices of result D on the circle: `n_points` equally spaced control points,
    inverse temperature `lam`, and the guaranteed sup error `guaranteed` <= `eps` for
    sequences of at most `max_len` tokens.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    eps: float
    n_points: int
    lam: float
    guaranteed: float


def _aliasing_reach(n_freq: int, lam: float) -> tuple[int, int, float]:
    """Frequencies up to `reach` = n_freq + p0 are summed exactly. Beyond them,
    rho_p <= exp(-g(p)) with g(p) = p^2 / (2 (lam + p)) (the book's consequence of Amos's
    bounds), and each p occurs at most twice in {|n + qN| : q != 0}. p0 is the first
    integer with g(p0) >= 100 (p0 = 100 + sqrt(100^2 + 200 lam), about sqrt(200 lam), not
    lam); g is convex and increasing, so g(p0 + j) >= g(p0) + j g'(p0), and every aliasing
    sum misses at most `tail` = 2 exp(-g(p0)) / (exp(g'(p0)) - 1): about 1e-43 for small
    lam, below 2e-40 up to lam = 1e9."""
    p0 = math.ceil(100 + math.sqrt(100**2 + 200 * lam))
    slope = (p0 * p0 + 2 * lam * p0) / (2 * (lam + p0) ** 2)  # g'(p0) > 0
    tail = 2.0 * math.exp(-p0 * p0 / (2 * (lam + p0))) / math.expm1(slope)
    return n_freq + p0, p0, tail


def _smooth_bound_from_ratios(
    a: torch.Tensor,
    rho: torch.Tensor,
    *,
    n_points: int,
    lam: float,
    max_len: int,
    bound: float,
    tail_bound: float = 0.0,
    aliasing_only: bool = False,
) -> float:
    """The bound of `smooth_circle_error_bound` from precomputed ratios. A spectral tail g
    beyond `a` with sup |g| <= tail_bound adds 2 tail_bound (the head averages g with total
    weight <= 1, and f misses it by |g| once more) and raises sup |f_trunc| to B + tail.

    The aliasing sums A_n are vectorised: with the ratios laid out as a grid
    rho[qN + r] (row q, column r), A_n for n = qN + r is the sum of column r above and below
    row q plus the sum of column (-n mod N) without rho_0, all from cumulative sums of
    nonnegative terms (no cancellation). Cost O(n_freq + lam + N) time and memory.

    With `aliasing_only`, returns the lower bound sum_n a_n (A_n + A_0) / (1 - A_0) with the
    A_n summed over the window only (no tail): it increases with lam (every rho_p does, and
    the window grows), so once it reaches eps at some N it does so for every larger lam.
    """
    n_freq = a.shape[0]
    bound = bound + tail_bound
    reach, _, tail = _aliasing_reach(n_freq, lam)
    if rho.shape[0] <= reach:
        raise ValueError("internal: Bessel ratios computed up to too low a frequency")
    if aliasing_only:
        tail = 0.0
    window = rho[: reach + 1]
    length = reach + 1
    frequencies = torch.arange(n_freq)
    if n_points >= length:
        # No multiple of N lies in the window: only the wrapped term rho_(N - n) can.
        index = n_points - frequencies  # >= 1, since n < n_freq <= reach < N
        inside = index < length
        alias = torch.where(inside, window[index.clamp(max=length - 1)], 0.0) + tail
        alias_zero = tail
    else:
        rows = -(-length // n_points)
        grid = torch.zeros(rows * n_points, dtype=torch.float64)
        grid[:length] = window
        grid = grid.reshape(rows, n_points)  # grid[q, r] = rho_(qN + r)
        zero_row = torch.zeros((1, n_points), dtype=torch.float64)
        below = torch.cat((zero_row, grid[:-1].cumsum(0)))  # rows < q of column r
        above = torch.cat((grid.flip(0).cumsum(0).flip(0)[1:], zero_row))  # rows > q
        wrapped = grid.sum(0)  # {qN - n : q > n/N} = column (-n mod N), index > 0
        wrapped[0] = above[0, 0]
        alias = (
            above.reshape(-1)[:n_freq]
            + below.reshape(-1)[:n_freq]
            + wrapped[(-frequencies) % n_points]
            + tail
        )
        alias_zero = float(2 * above[0, 0]) + tail
    if alias_zero >= 1:
        return math.inf
    if aliasing_only:
        return float((a * (alias + alias_zero)).sum()) / (1 - alias_zero)
    log_i0 = math.log(float(torch.special.i0e(torch.tensor(lam, dtype=torch.float64)))) + lam
    inputs = _scaled_exp(bound, max_len, -math.log(n_points) - log_i0)
    numerator = float((a * ((1 - rho[:n_freq]) + alias + alias_zero)).sum()) + inputs
    return numerator / (1 - alias_zero) + 2.0 * tail_bound


#: Most Fourier norms `smooth_circle_parameters` accepts (those of a trigonometric polynomial
#: of degree 2^20): each evaluation of the bound costs O(number of norms), about 0.1 s here.
MAX_FOURIER_NORMS = 2**20 + 1


def smooth_circle_error_bound(
    fourier_norms: ArrayLike,
    *,
    n_points: int,
    lam: float,
    max_len: int,
    bound: float,
    tail_bound: float = 0.0,
) -> float:
    """The book's bound (result D) on the sup error of the core head on S^1 with `n_points`
    equally spaced control points, values v_j = f(c_j) and inverse temperature `lam`, at
    most `max_len` input tokens, for a target f with sup |f| <= `bound` whose Fourier
    coefficients have Euclidean norms `fourier_norms[n]` = |f_n| + |f_-n| (n = 0, 1, ...,
    a 1-D array) and whose higher frequencies sum to a function of sup norm at most
    `tail_bound` (0: they vanish, f is a trigonometric polynomial):

        [ sum_n a_n ((1 - rho_n) + (A_n + A_0)) + (B + t) T / (N I_0(lam)) ] / (1 - A_0)
        + 2 t,

    where rho_n = I_n(lam)/I_0(lam), A_n = sum_{q != 0} rho_|n + qN| bounds the aliasing
    of frequency n on N points and t = tail_bound. Returns inf when A_0 >= 1 (too few points
    for this lam). The norms and the tail bound are the caller's responsibility: they make
    the number a guarantee. The aliasing sums are exact up to order len(a) + p0, with
    p0 = 100 + sqrt(100^2 + 200 lam), and bounded beyond it through
    rho_p <= exp(-p^2 / (2 (lam + p))) (Amos's bounds); the rest adds below 2e-40.

    Time and memory O(len(a) + sqrt(lam) + N), vectorised. Raises ValueError, before any
    work, if len(a) + p0 exceeds MAX_BESSEL_ORDER (10^7) ratios: give fewer norms (fold the
    rest into `tail_bound`).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    a = as_float64(fourier_norms, "fourier_norms", ndim=1)
    if (a < 0).any():
        raise ValueError("fourier_norms are norms and must be >= 0")
    n_points = check_positive_int(n_points, "n_points")
    lam = check_nonnegative_float(lam, "lam")
    max_len = check_positive_int(max_len, "max_len", minimum=0, maximum=MAX_SEQUENCE_LENGTH)
    bound = check_nonnegative_float(bound, "bound")
    tail_bound = check_nonnegative_float(tail_bound, "tail_bound")
    if lam > MAX_BESSEL_LAM:
        raise ValueError(
            f"lam must be at most {MAX_BESSEL_LAM:g}; got {lam:g}: beyond it scipy's "
            "exponentially scaled Bessel functions return NaN"
        )
    reach, _, _ = _aliasing_reach(a.shape[0], lam)
    if reach + 1 > MAX_BESSEL_ORDER:
        raise ValueError(
            f"fourier_norms has {a.shape[0]} entries: with lam = {lam:.3g} the bound would "
            f"need Bessel ratios up to order {reach + 1}, more than {MAX_BESSEL_ORDER:.0e}; "
            "give fewer fourier_norms (fold the rest into tail_bound)"
        )
    rho = bessel_ratios(lam, reach + 1)
    return _smooth_bound_from_ratios(
        a, rho, n_points=n_points, lam=lam, max_len=max_len, bound=bound, tail_bound=tail_bound
    )


def smooth_circle_parameters(
    fourier_norms: ArrayLike,
    *,
    eps: float,
    max_len: int,
    bound: float,
    tail_bound: float = 0.0,
    max_points: int = 100_000,
) -> SmoothParameters:
    """The fewest equally spaced control points N <= `max_points`, with an inverse
    temperature lam on a geometric grid, for which `smooth_circle_error_bound` is at most
    `eps`.

    lam runs over the grid 1, s, s^2, ... (s = 2^(1/8)) from the smallest grid value whose
    bias term sum_n a_n (1 - rho_n) is below eps - 2 tail_bound (found by bisection: the bias
    falls as lam grows). For each lam, N is found by doubling and bisection (assuming, as
    the search must, that the bound falls as N grows). The walk stops when the aliasing part
    of the bound at N = (best N so far) - 1, or at max_points before any N is found, alone
    reaches eps: it only grows with lam, so no larger lam on the grid can do better. lam
    stays below MAX_BESSEL_LAM (10^9).

    Raises ValueError if no N up to `max_points` suffices (raise max_points or eps), if
    2 `tail_bound` alone reaches eps, if no lam on the grid brings the bias below it, or
    if there are more than MAX_FOURIER_NORMS (2^20 + 1) norms (each of the few dozen
    evaluations of the bound costs O(len(a)); fold the rest into `tail_bound`).

    Used in: book/beyond_saturation.ipynb.
    """
    a = as_float64(fourier_norms, "fourier_norms", ndim=1)
    if (a < 0).any():
        raise ValueError("fourier_norms are norms and must be >= 0")
    eps = check_positive_float(eps, "eps")
    max_len = check_positive_int(max_len, "max_len", minimum=0, maximum=MAX_SEQUENCE_LENGTH)
    bound = check_nonnegative_float(bound, "bound")
    tail_bound = check_nonnegative_float(tail_bound, "tail_bound")
    max_points = check_positive_int(max_points, "max_points")
    n_freq = a.shape[0]
    if n_freq > MAX_FOURIER_NORMS:
        raise ValueError(
            f"fourier_norms has {n_freq} entries, more than MAX_FOURIER_NORMS = "
            f"{MAX_FOURIER_NORMS}: the search evaluates the bound a few dozen times at "
            f"O({n_freq}) each; give fewer norms and fold the rest into tail_bound"
        )
    if 2 * tail_bound >= eps:
        raise ValueError(
            f"the spectral tail alone costs 2 tail_bound = {2 * tail_bound:.3g} >= eps = {eps}: "
            "give more Fourier norms (a smaller tail) or a larger eps"
        )
    target = eps - 2 * tail_bound
    step = 2 ** (1 / 8)
    grid = [1.0]  # len(a) + p0 stays within MAX_BESSEL_ORDER up to MAX_BESSEL_LAM
    while grid[-1] * step <= MAX_BESSEL_LAM:
        grid.append(grid[-1] * step)

    def bias_too_big(k: int) -> bool:
        rho = bessel_ratios(grid[k], n_freq)[:n_freq]
        return float((a * (1 - rho)).sum()) >= target

    if bias_too_big(len(grid) - 1):
        raise ValueError(
            f"eps = {eps} is below what any lam <= {grid[-1]:.3g} can reach: the bias term "
            "sum_n a_n (1 - I_n(lam)/I_0(lam)) stays above eps - 2 tail_bound; ask for a "
            "larger eps"
        )
    low_k, high_k = -1, len(grid) - 1  # the bias is too big at low_k (or low_k = -1)
    probe = 0
    while probe < high_k and bias_too_big(probe):  # exponential search, then bisection
        low_k, probe = probe, 2 * probe + 1
    high_k = min(probe, high_k)
    while high_k - low_k > 1:
        middle = (low_k + high_k) // 2
        if bias_too_big(middle):
            low_k = middle
        else:
            high_k = middle

    best: SmoothParameters | None = None
    for lam in grid[high_k:]:
        reach = _aliasing_reach(n_freq, lam)[0]
        ratios = bessel_ratios(lam, reach + 1)
        cache: dict[int, float] = {}

        def bound_at(
            n: int,
            lam: float = lam,
            ratios: torch.Tensor = ratios,
            cache: dict[int, float] = cache,
        ) -> float:
            if n not in cache:
                cache[n] = _smooth_bound_from_ratios(
                    a,
                    ratios,
                    n_points=n,
                    lam=lam,
                    max_len=max_len,
                    bound=bound,
                    tail_bound=tail_bound,
                )
            return cache[n]

        limit = max_points if best is None else best.n_points - 1
        if limit < 1:
            break
        if bound_at(limit) <= eps:
            low, high = 0, 1  # bound_at(low) > eps (or low == 0)
            while bound_at(high) > eps:
                low, high = high, min(2 * high, limit)
            while high - low > 1:
                middle = (low + high) // 2
                if bound_at(middle) <= eps:
                    high = middle
                else:
                    low = middle
            best = SmoothParameters(eps, high, lam, bound_at(high))
            continue
        aliasing = _smooth_bound_from_ratios(
            a, ratios, n_points=limit, lam=lam, max_len=0, bound=0.0, aliasing_only=True
        )
        if aliasing >= eps:
            break
    if best is None:
        raise ValueError(
            f"no N <= {max_points} reaches eps = {eps} for any lam on the grid: raise "
            f"max_points (now {max_points}), or ask for a larger eps"
        )
    return best
