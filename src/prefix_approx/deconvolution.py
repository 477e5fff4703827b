"""Deconvolved prefix values on the circle: the book's way past the saturation of result D.

With values v_j = f(c_j) the core head is a positive averaging operator: it multiplies the
Fourier coefficient f_n by rho_n(lam) = I_n(lam) / I_0(lam) < 1 and so misses f by about
f'' / (2 lam), however many tokens it has. Here the values are those of a trigonometric
polynomial g whose coefficients are g_n = p_n / rho_n(lam), for a polynomial p of degree M
close to f; the averaging then gives back p, up to aliasing and the input tokens' share.

- `deconvolved_circle_error_bound`: the proved bound of the theorem "Deconvolved values on the
  circle" in book/beyond_saturation.ipynb, from the norms of p's coefficients.
- `deconvolved_circle_prefix`: the prefix, with M, lam and the fewest N found, and its
  guarantee in `.parameters` (`DeconvolutionParameters`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ._validation import (
    ArrayLike,
    as_float64,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    evaluate_target,
)
from .bounds import MAX_BESSEL_ORDER, MAX_SEQUENCE_LENGTH, bessel_ratios
from .core_head import CorePrefix, core_prefix
from .sphere import circle_points

__all__ = [
    "RATIO_RELATIVE_ERROR",
    "DeconvolutionParameters",
    "deconvolved_circle_error_bound",
    "deconvolved_circle_prefix",
]

#: Allowance for the relative rounding error of `bessel_ratios` at the scales used here
#: (lam <= 3e4): the bound treats each computed rho_n as rho_n (1 +- 1e-13). The largest error
#: measured against 40-digit mpmath values is about 3e-15; tests/test_deconvolution.py checks
#: that it stays below a tenth of the allowance.
RATIO_RELATIVE_ERROR = 1e-13

#: Unit roundoff of float64.
_U = 2.0**-53

#: Largest lam the builder and the bound accept (the ratio allowance is checked up to it).
MAX_LAM = 3e4

#: Largest polynomial degree M (and bandwidth, and number of Fourier norms - 1) accepted.
MAX_DEGREE = 1000


@dataclass(frozen=True)
class DeconvolutionParameters:
    """The choices of `deconvolved_circle_prefix` and what they guarantee: `n_points` N equally
    spaced control points, polynomial degree `degree` M, inverse temperature `lam`, FFT size
    `n_samples` P used for the coefficients of f; `truncation` bounds sup |f - p| (spectral
    tail beyond M, FFT aliasing and rounding), `aliasing` bounds the aliasing and normaliser
    term of the theorem, `rounding` the rounding of values, keys and scores, `max_value` is
    max_j |v_j| (Euclidean), and `guaranteed` = truncation + aliasing + rounding <= `eps`.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    eps: float
    n_points: int
    degree: int
    lam: float
    n_samples: int
    truncation: float
    aliasing: float
    rounding: float
    max_value: float
    guaranteed: float


def _alias_tail(reach: int, lam: float) -> float:
    """A bound on sum_{p > reach} rho_p for reach >= lam: there rho_p <= exp(-p^2/(2(lam+p)))
    <= exp(-p/4) (the book's lemma on Amos's bounds), a geometric series."""
    return math.exp(-(reach + 1) / 4.0) / (1.0 - math.exp(-0.25))


def _reach(degree: int, lam: float) -> int:
    """Orders up to which the aliasing sums use computed ratios; beyond, `_alias_tail`
    (below 3e-21: the orders past lam + 200 are negligible, whatever N)."""
    return degree + math.ceil(lam) + 200


def _aliasing_sums(rho: torch.Tensor, degree: int, n_points: int, lam: float) -> torch.Tensor:
    """alpha_n = sum_{q != 0} rho_|n + qN| for n = 0..M, and delta = 2 sum_{l >= 1} rho_lN as
    the last entry: shape (M + 2,). `rho` holds computed ratios up to `_reach` (at least);
    each sum is raised by the rounding allowance and by the tail beyond the reach (each order
    above it occurs at most twice in a sum: once for q > 0, once for q < 0), and by 1e-300
    for the ratios that underflowed to 0 (each below 2.3e-308, at most 10^7 of them)."""
    reach = _reach(degree, lam)
    window = rho[: reach + 1] * (1.0 + RATIO_RELATIVE_ERROR)
    tail = 2.0 * _alias_tail(reach, lam) + 1e-300
    q = torch.arange(1, reach // n_points + 2)
    n = torch.arange(degree + 1)
    sums = []
    for sign in (1, -1):
        orders = (n[:, None] + sign * q[None, :] * n_points).abs()
        inside = orders <= reach
        sums.append(torch.where(inside, window[orders.clamp(max=reach)], 0.0).sum(dim=1))
    alpha = sums[0] + sums[1] + tail
    delta = 2.0 * window[n_points::n_points].sum() + tail
    return torch.cat((alpha, delta.reshape(1)))


def _log_i0(lam: float) -> float:
    """ln I_0(lam), from the exponentially scaled i0e (no overflow)."""
    return math.log(float(torch.special.i0e(torch.tensor(lam, dtype=torch.float64)))) + lam


def _bound_from_ratios(
    b: torch.Tensor,
    rho: torch.Tensor,
    *,
    n_points: int,
    lam: float,
    max_len: int,
) -> float:
    """The aliasing-and-normaliser term of the theorem (everything but sup |f - p|)."""
    degree = b.shape[0] - 1
    sums = _aliasing_sums(rho, degree, n_points, lam)
    alpha, delta = sums[:-1], float(sums[-1])
    if delta >= 1.0:
        return math.inf
    low = rho[: degree + 1] * (1.0 - RATIO_RELATIVE_ERROR)
    if bool((low <= 0).any()):
        return math.inf  # 1/rho_n beyond float64: no bound
    deconvolved = float((b * alpha / low).sum())
    size = float(b.sum())  # sup |p| <= sum_n |p_n|
    share = 0.0
    if max_len and size:
        share = math.exp(math.log(max_len) - math.log(n_points) - _log_i0(lam))
    return (deconvolved + size * (delta + share)) / (1.0 - delta)


def _check_scale(degree: int, n_points: int, lam: float) -> None:
    if lam > MAX_LAM:
        raise ValueError(
            f"lam must be at most {MAX_LAM:g} (the range where the allowance for the rounding "
            f"of the Bessel ratios is checked); got {lam:g}"
        )
    if n_points <= degree:
        raise ValueError(
            f"n_points must exceed the degree M = {degree} of p (aliases |n + qN| >= N - M "
            f"must be positive); got n_points = {n_points}"
        )
    if _reach(degree, lam) > MAX_BESSEL_ORDER:
        raise ValueError(
            f"n_points = {n_points} needs Bessel ratios up to order "
            f"{_reach(degree, lam)}, more than {MAX_BESSEL_ORDER}"
        )


def deconvolved_circle_error_bound(
    coefficient_norms: ArrayLike,
    *,
    n_points: int,
    lam: float,
    max_len: int,
    truncation: float = 0.0,
) -> float:
    """The book's proved bound (theorem "Deconvolved values on the circle",
    book/beyond_saturation.ipynb) on the sup error of the core head on S^1 with `n_points` N
    equally spaced control points c_j = 2 pi j / N, inverse temperature `lam`, values
    v_j = g(c_j), g = sum_{|n| <= M} (p_n / rho_n) e^{in theta}, at every position of every
    sequence of at most `max_len` tokens, for a target f with sup |f - p| <= `truncation`:

        truncation + [ sum_n b_n alpha_n / rho_n + (sum_n b_n)(delta + T / (N I_0(lam))) ]
                     / (1 - delta),

    where `coefficient_norms` b (shape (M + 1,), float64, >= 0) are b_0 = |p_0| and
    b_n = |p_n| + |p_-n| (Euclidean norms), rho_n = I_n(lam) / I_0(lam),
    alpha_n = sum_{q != 0} rho_|n + qN| and delta = 2 sum_{l >= 1} rho_lN. The ratios come
    from `bessel_ratios` with the relative allowance `RATIO_RELATIVE_ERROR`, and the orders
    beyond the computed ones are bounded by Amos's bound. Exact arithmetic in the head (the
    builder adds the rounding). Returns inf when delta >= 1.

    Raises ValueError for negative norms, n_points <= M, lam outside (0, 3e4], or when the
    aliasing sums would need Bessel ratios beyond order 10^7.

    Used in: book/beyond_saturation.ipynb.
    """
    b = as_float64(coefficient_norms, "coefficient_norms", ndim=1)
    if b.shape[0] == 0:
        raise ValueError("coefficient_norms is empty: give |p_0|, |p_1| + |p_-1|, ...")
    if (b < 0).any():
        raise ValueError("coefficient_norms are norms and must be >= 0")
    n_points = check_positive_int(n_points, "n_points")
    lam = check_positive_float(lam, "lam")
    max_len = check_positive_int(max_len, "max_len", minimum=0, maximum=MAX_SEQUENCE_LENGTH)
    truncation = check_nonnegative_float(truncation, "truncation")
    degree = b.shape[0] - 1
    _check_scale(degree, n_points, lam)
    rho = bessel_ratios(lam, _reach(degree, lam))
    return truncation + _bound_from_ratios(b, rho, n_points=n_points, lam=lam, max_len=max_len)


def _rounding(b: torch.Tensor, rho: torch.Tensor, degree: int, lam: float) -> float:
    """Allowance for rounding (by hand: no library bounds these). With S = sum_n |g_n|
    <= sum_n b_n / rho_n, the values are off g(c_j) by at most 32 (M + 1) u S (angles n c_j,
    exp, products, a sum of 2M + 1 terms) and are at most S in size; the keys lam c_j, the
    scores and the exponentials change each weight by a factor within exp(+-32 (lam + 1) u),
    which moves a weighted average of values of size V by at most 2 kappa V / (1 - kappa)."""
    low = rho[: degree + 1] * (1.0 - RATIO_RELATIVE_ERROR)
    if bool((low <= 0).any()):
        return math.inf
    size = float((b / low).sum())
    value_error = 32 * (degree + 1) * _U * size
    kappa = math.expm1(32 * (lam + 1) * _U)
    return value_error + 2 * kappa / (1 - kappa) * (size + value_error)


def _coefficients(
    f: Callable[[torch.Tensor], torch.Tensor], n_samples: int
) -> tuple[torch.Tensor, float]:
    """FFT coefficients (n_samples, k), complex, of f at `circle_points(n_samples)` (FFT
    order), and an allowance for the rounding of each: 16 log2(P) u max |f(x_j)|. The
    radix-2 FFT's normwise error is at most log2(P) eta / (1 - log2(P) eta) times
    |x|_2 sqrt(P) with eta below 5u (Higham, Accuracy and Stability of Numerical
    Algorithms, Thm 24.2); divided by P, each coefficient is off by less than this."""
    values = evaluate_target(f, circle_points(n_samples, max_points=2**23))
    spectrum = torch.fft.fft(values.to(torch.complex128), dim=0) / n_samples
    scale = float(torch.linalg.vector_norm(values, dim=1).max())
    return spectrum, 16 * math.log2(n_samples) * _U * scale


def _combined(spectrum: torch.Tensor, degree: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The coefficients p_n for n = -M..M, (2M + 1, k), and b_n = |p_n| + |p_-n| (b_0 =
    |p_0|), (M + 1,), from an FFT-ordered spectrum."""
    n = torch.arange(-degree, degree + 1)
    kept = spectrum[n % spectrum.shape[0]]
    norms = torch.linalg.vector_norm(kept, dim=1)
    b = norms[degree:].clone()
    b[1:] += norms[:degree].flip(0)
    return kept, b


def _check_stated_norms(b_all: torch.Tensor, a: torch.Tensor, tail: float, slack: float) -> None:
    """Necessary check: at P > 2K points the FFT's coefficient at n (|n| < P/2) is f_n plus
    the aliases f_m, m = n + qP, q != 0, all of order |m| >= P/2 > K; each m with |m| > K
    lands at one index only. So for n <= K the combined norm is at most a_n + (that index's
    aliases), for K < n < P/2 it is at most its aliases, and in all
    sum_{n <= K} (b_n - a_n)^+ + sum_{K < n < P/2} b_n <= sum_{|m| > K} |f_m| <= tail (l1).
    Each computed b_n is off by at most `slack` (two coefficients, each within the FFT's
    rounding), so the sum gets `slack` per term."""
    k = a.shape[0]
    excess = b_all[:k] - a - tail - slack
    if float(excess.max()) > 0:
        n = int(excess.argmax())
        raise ValueError(
            f"fourier_norms are false: the FFT of f has norm {float(b_all[n]):.6g} at "
            f"frequency {n}, more than a_{n} + tail_bound = {float(a[n]) + tail:.6g}"
        )
    mass = float((b_all[:k] - a).clamp(min=0).sum() + b_all[k:].sum())
    if mass > tail + b_all.shape[0] * slack:
        raise ValueError(
            f"tail_bound = {tail:.6g} is false (it must bound the l1 norm of f's coefficients "
            f"beyond frequency {k - 1}): the FFT of f at {2 * b_all.shape[0]} points "
            f"already has norms beyond fourier_norms summing to {mass:.6g}"
        )


def _check_bandwidth(
    f: Callable[[torch.Tensor], torch.Tensor],
    spectrum: torch.Tensor,
    b_all: torch.Tensor,
    degree: int,
    slack: float,
) -> float:
    """Necessary check that f is a trigonometric polynomial of degree <= `degree`: FFT norms
    above it summing to at most the tolerance 100 `slack` (rounding of f's own evaluation),
    and f equal to its degree-`degree` interpolant at 64 seeded random angles within it
    (equally spaced samples alone cannot see a frequency that aliases onto a low one).
    Returns the tolerance, which the guarantee charges twice (see the caller)."""
    beyond = float(b_all[degree + 1 :].sum()) if b_all.shape[0] > degree + 1 else 0.0
    angles = 2 * math.pi * torch.rand(64, generator=torch.Generator().manual_seed(0))
    angles = angles.to(torch.float64)
    points = torch.stack((torch.cos(angles), torch.sin(angles)), dim=1)
    n = torch.arange(-degree, degree + 1)
    basis = torch.exp(1j * angles[:, None] * n[None, :].to(torch.float64))
    interpolant = (basis @ spectrum[n % spectrum.shape[0]]).real
    off_grid = float((evaluate_target(f, points) - interpolant).abs().max())
    tolerance = 100 * slack + 1e-300
    if max(beyond, off_grid) > tolerance:
        raise ValueError(
            f"f is not a trigonometric polynomial of degree <= bandwidth = {degree}: its "
            f"samples show frequencies above it (norms summing to {beyond:.3g}, or a "
            f"difference of {off_grid:.3g} from the degree-{degree} interpolant between the "
            f"samples; at most {tolerance:.3g} is allowed for rounding)"
        )
    return tolerance


def _fewest_points(
    b: torch.Tensor,
    *,
    lam: float,
    eps_left: float,
    max_len: int,
    max_tokens: int,
    limit: int,
) -> tuple[int, float] | None:
    """The fewest N in (M, min(limit, max_tokens)] found by doubling and bisection with the
    aliasing-and-normaliser term <= eps_left, with that term; None if none is found."""
    degree = b.shape[0] - 1
    top = min(limit, max_tokens)
    if top <= degree:
        return None
    ratios = bessel_ratios(lam, _reach(degree, lam))
    cache: dict[int, float] = {}

    def term(n: int) -> float:
        if n not in cache:
            cache[n] = _bound_from_ratios(b, ratios, n_points=n, lam=lam, max_len=max_len)
        return cache[n]

    low, high = degree, min(2 * degree + 1, top)
    while term(high) > eps_left:
        if high == top:
            return None
        low, high = high, min(2 * high, top)
    while high - low > 1:
        middle = (low + high) // 2
        if term(middle) <= eps_left:
            high = middle
        else:
            low = middle
    return high, term(high)


def deconvolved_circle_prefix(
    f: Callable[[torch.Tensor], torch.Tensor],
    *,
    eps: float,
    max_len: int,
    fourier_norms: ArrayLike | None = None,
    tail_bound: float = 0.0,
    bandwidth: int | None = None,
    max_tokens: int = 100_000,
) -> CorePrefix:
    """A prefix for `CoreHead(1, k)` with deconvolved values that approximates f: S^1 -> R^k
    to sup error `eps` (proved) at every position of every sequence of at most `max_len`
    tokens (theorem "Deconvolved values on the circle", book/beyond_saturation.ipynb).

    The coefficients of f come from an FFT at P points (a power of two > 2K); p is f's
    truncation to degree M with those coefficients, g_n = p_n / rho_n(lam), and
    v_j = g(c_j) at N equally spaced points. Over degrees M, inverse temperatures
    lam = c max(M, 1)^2 (16 values of c from 1/16 to 4, and one lam large enough for the
    input tokens' share at N = 1, never below M^2 / 16) and N (doubling and bisection), the
    prefix takes the fewest N found whose guarantee, rounding allowance included, is at most
    eps.

    The guarantee needs the spectrum of f, which samples alone cannot bound. Give exactly one:
    - `fourier_norms` a_n = |f_n| + |f_-n| (a_0 = |f_0|, Euclidean norms) for n = 0..K and
      `tail_bound` t >= sum_{|n| > K} |f_n| (an l1 bound: it also bounds the FFT's aliasing,
      so it is stronger than the sup-norm tail of `smooth_circle_prefix`). Then
      sup |f - p| <= sum_{M < n <= K} a_n + 2 t + rounding;
    - `bandwidth` K: f is a trigonometric polynomial of degree <= K, checked on the FFT and
      at random angles to within a rounding tolerance r (FFT norms above K summing to at
      most r, f within r of its interpolant); then
      sup |f - p| <= sum_{n > M} |FFT norms| + 2 r + rounding (2 r covers frequencies above
      K with l1 norm up to r, which the check lets through).

    `f` maps points (Q, 2) to (Q, k), float64. Returns a `CorePrefix` whose `.parameters`
    (`DeconvolutionParameters`) record M, lam, N, P, max_j |v_j| and the guarantee.

    Raises TypeError for a non-callable f or badly typed arguments; ValueError if neither or
    both of fourier_norms and bandwidth are given, if the stated norms contradict the FFT
    (a norm above a_n + t, or FFT norms beyond the stated ones summing to more than the l1
    tail t), if f is not of the stated bandwidth, if 2 t alone reaches eps, or if no
    N <= `max_tokens` reaches eps (the message gives the smallest guarantee found).

    Used in: book/beyond_saturation.ipynb.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of points (Q, 2) -> (Q, k); got {f!r:.60}")
    eps = check_positive_float(eps, "eps")
    max_len = check_positive_int(max_len, "max_len", maximum=MAX_SEQUENCE_LENGTH)
    max_tokens = check_positive_int(max_tokens, "max_tokens")
    tail = check_nonnegative_float(tail_bound, "tail_bound")
    if (fourier_norms is None) == (bandwidth is None):
        raise ValueError(
            "give exactly one of fourier_norms= (with tail_bound=, an l1 bound on the "
            "coefficients beyond them) or bandwidth= (f is a trigonometric polynomial of that "
            "degree): samples alone cannot bound the spectrum, so the guarantee needs one"
        )
    if bandwidth is not None:
        top = check_positive_int(bandwidth, "bandwidth", minimum=0, maximum=MAX_DEGREE)
        if tail:
            raise ValueError("tail_bound must be 0 with bandwidth= (no frequencies above it)")
    else:
        a = as_float64(fourier_norms, "fourier_norms", ndim=1)
        if a.shape[0] == 0 or a.shape[0] > MAX_DEGREE + 1:
            raise ValueError(
                f"fourier_norms must hold 1 to {MAX_DEGREE + 1} norms; got {a.shape[0]}"
            )
        if (a < 0).any():
            raise ValueError("fourier_norms are norms and must be >= 0")
        top = a.shape[0] - 1
        if 2 * tail >= eps:
            raise ValueError(
                f"the spectral tail alone costs 2 tail_bound = {2 * tail:.3g} >= eps = {eps}: "
                "give more Fourier norms (a smaller tail) or a larger eps"
            )
    n_samples = 1 << max(6, (2 * top + 2).bit_length())
    spectrum, rounding = _coefficients(f, n_samples)
    _, b_all = _combined(spectrum, n_samples // 2 - 1)
    slack = 2 * rounding + 1e-12 * float(b_all.max())
    if bandwidth is not None:
        tolerance = _check_bandwidth(f, spectrum, b_all, top, slack)
        stated = b_all[: top + 1] + 2 * rounding  # |f_n| + |f_-n| to within rounding
        # The check lets through f = q + h, deg q <= K, with out-of-band parts h of size up
        # to `tolerance` (rounding in f's evaluation, or a small true frequency above K), so
        # the guarantee assumes only sum_{|m| > K} |h_m| <= tolerance. Proof that 2 tolerance
        # covers h: sup |f - p| <= sup |q - p| + sup |h|, with sup |h| <= sum |h_m| <=
        # tolerance (through f itself); and h reaches p, hence the values g = p / rho and
        # the stated norms of q, only through the FFT's aliases, each h_m landing at one
        # FFT index, so by at most sum |h_m| <= tolerance over all kept and stated
        # coefficients together (through the values). The head's term is computed from p's
        # actual coefficients, so it needs nothing more.
        alias = 2.0 * tolerance
    else:
        _check_stated_norms(b_all, a, tail, slack)
        stated, alias = a, tail
    beyond = torch.cat((stated.flip(0).cumsum(0).flip(0)[1:], torch.zeros(1)))
    best: tuple[int, int, float, float, float] | None = None  # N, M, lam, trunc, term
    stale = 0
    for degree in range(top + 1):
        if best is not None and 2 * degree + 1 >= best[0]:
            break
        # p has the computed coefficients, so its norms b are exact up to the rounding of
        # the norms themselves; the head reproduces p_n rho_n / computed rho_n, within
        # 2 RATIO_RELATIVE_ERROR |p_n| of p_n (both covered by the factor on b).
        _, b = _combined(spectrum, degree)
        b = b * (1.0 + 2.0 * RATIO_RELATIVE_ERROR)
        # sup |f - p|: the stated tail beyond M, the FFT's aliasing into the kept
        # coefficients (orders >= P - M > K: at most t), their rounding, the ratio error.
        truncation = float(beyond[degree]) + tail + alias + (2 * degree + 1) * rounding
        truncation += 2.0 * RATIO_RELATIVE_ERROR * float(b.sum())
        if truncation >= eps:
            continue
        # lam_inputs keeps the input tokens' share (sum b) T / I_0(lam) below a quarter of
        # what is left of eps even for N = 1: one more candidate, for small M or long T.
        share = math.log(max_len) + math.log(max(float(b.sum()), 1e-300))
        lam_inputs = 1.0
        while share - _log_i0(lam_inputs) > math.log((eps - truncation) / 4):
            lam_inputs *= 1.25
        scale = max(degree, 1) ** 2
        candidates = {min((1 / 16) * 2 ** (step / 2.5) * scale, MAX_LAM) for step in range(16)}
        # never below M^2 / 16, where 1/rho_M <= e^(8 + 8/M) (lemma on inverse ratios): a
        # smaller lam makes the values huge and their rounding, not the bound, decides.
        candidates.add(min(max(lam_inputs, scale / 16), MAX_LAM))
        improved = False
        for lam in sorted(candidates):
            limit = best[0] - 1 if best is not None else max_tokens
            left = eps - truncation - _rounding(b, bessel_ratios(lam, degree), degree, lam)
            if left <= 0:
                continue
            found = _fewest_points(
                b, lam=lam, eps_left=left / (1 + 1e-9), max_len=max_len,
                max_tokens=max_tokens, limit=limit,
            )  # fmt: skip
            if found is not None:
                best = (found[0], degree, lam, truncation, found[1])
                improved = True
        stale = 0 if improved else stale + 1
        if best is not None and stale >= 4:
            break
    if best is None:
        raise ValueError(
            f"no N <= max_tokens = {max_tokens} reaches eps = {eps:g}: no degree M up to "
            f"{top} has a truncation error below eps that few tokens can carry; raise "
            "max_tokens or eps, or give more Fourier norms"
        )
    n_points, degree, lam, truncation, term = best
    kept, b_final = _combined(spectrum, degree)
    b_final = b_final * (1.0 + 2.0 * RATIO_RELATIVE_ERROR)
    rho = bessel_ratios(lam, degree)
    frequencies = torch.arange(-degree, degree + 1)
    g = kept / rho[frequencies.abs()][:, None].to(torch.complex128)
    angles = 2.0 * math.pi * torch.arange(n_points, dtype=torch.float64) / n_points
    basis = torch.exp(1j * angles[:, None] * frequencies[None, :].to(torch.float64))
    values = (basis @ g).real
    largest = float(torch.linalg.vector_norm(values, dim=1).max())
    rounding_total = _rounding(b_final, rho, degree, lam)
    guaranteed = truncation + term + rounding_total
    if guaranteed > eps:  # the search left eps * 1e-9 for this
        raise ValueError(
            f"internal: the rounding allowance {rounding_total:.3g} pushed the guarantee "
            f"{guaranteed:.6g} above eps = {eps:g}"
        )
    parameters = DeconvolutionParameters(
        eps=eps,
        n_points=n_points,
        degree=degree,
        lam=lam,
        n_samples=n_samples,
        truncation=truncation,
        aliasing=term,
        rounding=rounding_total,
        max_value=largest,
        guaranteed=guaranteed,
    )
    prefix = core_prefix(circle_points(n_points), values, lam)
    return dataclasses.replace(prefix, parameters=parameters, max_len=max_len)
