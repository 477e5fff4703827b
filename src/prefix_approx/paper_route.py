"""The paper's route to Theorem 1, run through the core head: smoothing, then a partition.

The paper's overview figure (on a co-author's publication page) shows its single-head proof
as: smooth f by convolution with a von Mises-Fisher (vMF) kernel, partition S^m into
near-uniform cells V_k with points b_k, and replace <x, y> by <x, b_k> for y in V_k, which
turns the smoothing integral into a sum over cells of terms exp(lam <x, b_k>). How the paper
turns that sum into the output of a softmax is not known to us. The way used here is the
book's own (theorem "The paper's route, run" in book/theorem1_density.ipynb):

- cells: equal arcs on S^1 (centres `circle_points(n)`), the cells of the equiangular
  cubed-sphere net on S^m, m >= 2 (centres `cubed_sphere_net(m, n)`); one prefix token
  [0; lam b_k; f(b_k)] per cell;
- the core head divides by sum_k exp(lam <x, b_k>) + T, a sum *without* the cell measures
  |V_k| (a key of norm lam cannot carry a weight). The error of leaving the measures out is
  at most a factor rho = max |V_k| / min |V_k| on the smoothing term;
- the guarantee, for an L-Lipschitz f (geodesic distance) with sup |f| <= B, cells of
  radius <= h around their centres and at most T input tokens:

      |H(x) - f(x)| <= L rho e^(2 lam h) (E_m(lam) + h) + B T e^(-lam cos h),

  with E_m(lam) <= pi sqrt((1 - A_m(lam)) / 2) the mean geodesic distance of a vMF(lam)
  sample from its mean direction, A_m(lam) = I_((m+1)/2)(lam) / I_((m-1)/2)(lam).

The prefix length this needs grows like eps^(-2m) (lam ~ m (L/eps)^2, h ~ 1/lam), against
eps^(-m) for result C (`build_prefix`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import ive

from ._validation import (
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    evaluate_target,
)
from .bounds import MAX_SEQUENCE_LENGTH
from .core_head import CorePrefix, _check_bound, core_prefix
from .sphere import (
    DEFAULT_MAX_POINTS,
    SphereNet,
    circle_points,
    cubed_sphere_net,
    geodesic_distance,
)

__all__ = [
    "PaperRouteParameters",
    "cell_measure_ratio_bound",
    "paper_route_error_bound",
    "paper_route_parameters",
    "paper_route_prefix",
    "vmf_mean_distance_bound",
]

#: Allowance added to 1 - A_m(lam) for the rounding of scipy's Bessel functions (their
#: relative accuracy is about 1e-15; 1 - A_m is at least about m / (2 lam) >= 1e-13 for
#: every lam the search below tries).
_ROUNDING = 1e-12

#: Largest number of cells per edge the search considers (beyond it no prefix is buildable).
_MAX_CELLS = 2**40


def _one_minus_mean_cosine(m: int, lam: np.ndarray) -> np.ndarray:
    """Upper bounds on 1 - A_m(lam) = E[1 - <y, mu>] for y ~ vMF(mu, lam) on S^m, elementwise:
    the ratio of exponentially scaled Bessel functions plus a rounding allowance, capped by
    Amos's bound A_m(lam) >= lam / (nu + 1 + sqrt(lam^2 + (nu + 1)^2)), nu = (m - 1)/2.

    Amos's bound is evaluated without cancellation: with c = nu + 1 and s = hypot(lam, c),
    1 - lam / (c + s) = (c + s - lam) / (c + s) = (c + c^2 / (s + lam)) / (c + s), since
    s - lam = c^2 / (s + lam); hypot does not overflow (lam^2 did, from lam = 1.3e154, and
    1 - lam/(c + s) rounded to 0 from lam = 2e16). Its relative rounding error, a few units
    of 1e-16, is covered by a factor 1 + 1e-14."""
    nu = (m - 1) / 2.0
    c = nu + 1.0
    lam = np.asarray(lam, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ratio = np.where(lam > 0, ive(nu + 1.0, lam) / ive(nu, lam), 0.0)
        computed = np.clip(1.0 - ratio, 0.0, 1.0) + _ROUNDING
        s = np.hypot(lam, c)
        amos = (c + c * (c / (s + lam))) / (c + s) * (1.0 + 1e-14)
    bound = np.fmin(computed, np.minimum(amos, 1.0))  # fmin: where ive gives NaN, Amos alone
    return np.where(np.isfinite(bound), bound, 1.0)


def vmf_mean_distance_bound(m: int, lam: float) -> float:
    """An upper bound on E[d(y, mu)], the mean geodesic distance from its mean direction mu of
    a von Mises-Fisher sample y on S^m with concentration `lam` (density proportional to
    exp(lam <y, mu>)): pi sqrt((1 - A_m(lam)) / 2), with A_m(lam) = E<y, mu> =
    I_((m+1)/2)(lam) / I_((m-1)/2)(lam).

    Proof: d <= pi sin(d/2) on [0, pi], and E sin(d/2) <= sqrt(E sin^2(d/2)) =
    sqrt((1 - A_m)/2) (Jensen). For large lam it behaves like (pi/2) sqrt(m / lam); the
    bias of vMF smoothing of an L-Lipschitz target is at most L times it. The ratio comes
    from scipy.special.ive, with an allowance of 1e-12 for rounding, and is capped by Amos's
    (1974) bound A_m >= lam / ((m+1)/2 + sqrt(lam^2 + ((m+1)/2)^2)).

    Raises TypeError or ValueError naming `m` (an integer >= 1) or `lam` (finite, >= 0).

    Used in: book/theorem1_density.ipynb.
    """
    m = check_positive_int(m, "m")
    lam = check_nonnegative_float(lam, "lam")
    one_minus = float(_one_minus_mean_cosine(m, np.array([lam]))[0])
    return math.pi * math.sqrt(one_minus / 2.0)


def cell_measure_ratio_bound(m: int) -> float:
    """A bound rho_m >= max |V_k| / min |V_k| on the ratio of the measures of the cells of the
    equiangular cubed-sphere partition of S^m, for every resolution; 1 on S^1, where the
    route uses equal arcs.

    On a face the sphere's measure in the angle coordinates a (u_i = tan a_i, |u_i| <= 1) has
    density g(u) = prod_i (1 + u_i^2) / (1 + |u|^2)^((m+1)/2), and every cell is a box of
    the same size in a. By AM-GM and a one-variable argument g <= 1 (its value at the face
    centre); with ln(1 + t) >= t ln 2 on [0, 1], ln g >= min over S in [0, m] of
    S ln 2 - (m+1)/2 ln(1 + S), a convex function of S, minimal at
    S = (m+1)/(2 ln 2) - 1 (clipped). So rho_m = 1 / exp(that minimum): 1.42 on S^2, 2.25
    on S^3.

    Used in: book/theorem1_density.ipynb.
    """
    m = check_positive_int(m, "m")
    if m == 1:
        return 1.0
    s = min(max((m + 1) / (2.0 * math.log(2.0)) - 1.0, 0.0), float(m))
    log_g_min = s * math.log(2.0) - (m + 1) / 2.0 * math.log1p(s)
    return math.exp(-log_g_min) * (1.0 + 1e-12)


def _cell_radius(m: int, cells: int) -> float:
    """A proved bound on the distance from any point of a cell to the cell's centre: pi / n
    for n equal arcs of S^1; pi sqrt(2m) / (4n) for the cubed-sphere cells with n cells per
    edge (the gnomonic map stretches angle coordinates by at most sqrt 2 on a face)."""
    if m == 1:
        return math.pi / cells
    return math.pi * math.sqrt(2.0 * m) / (4.0 * cells)


def _check_lipschitz_on_cells(
    values: torch.Tensor, points: torch.Tensor, m: int, cells: int, lipschitz: float
) -> None:
    """Necessary check of the Lipschitz constant on neighbouring cell centres (consecutive
    arcs on S^1, grid neighbours within each face of the cubed sphere), in O(N): raise
    ValueError if f changes by more than L times their distance between two of them."""
    if cells < 2:
        return
    shape = (cells,) if m == 1 else (2 * (m + 1),) + (cells,) * m
    v = values.reshape(*shape, values.shape[1])
    p = points.reshape(*shape, m + 1)
    pairs = []
    if m == 1:
        pairs.append((v, torch.roll(v, 1, 0), p, torch.roll(p, 1, 0)))
    for axis in range(1, m + 1) if m > 1 else ():
        size = cells - 1
        pairs.append(
            (
                v.narrow(axis, 1, size),
                v.narrow(axis, 0, size),
                p.narrow(axis, 1, size),
                p.narrow(axis, 0, size),
            )
        )
    for v1, v0, p1, p0 in pairs:
        gap = torch.linalg.vector_norm(v1 - v0, dim=-1).reshape(-1)
        distance = geodesic_distance(p1, p0).reshape(-1)
        excess = gap - lipschitz * distance * (1 + 1e-9) - 1e-12
        if (excess > 0).any():
            i = int(excess.argmax())
            raise ValueError(
                f"f is not {lipschitz}-Lipschitz: between two neighbouring cell centres at "
                f"distance {float(distance[i]):.4g} it changes by {float(gap[i]):.6g}, more "
                f"than {lipschitz * float(distance[i]):.6g}."
            )


def _n_points(m: int, cells: int) -> int:
    """Number of cells (prefix tokens): n arcs on S^1, 2 (m+1) n^m cubed-sphere cells."""
    return cells if m == 1 else 2 * (m + 1) * cells**m


def _bound_terms(
    m: int,
    lam: np.ndarray,
    *,
    radius: float,
    ratio: float,
    lipschitz: float,
    bound: float,
    max_len: int,
) -> np.ndarray:
    """The guarantee of `paper_route_error_bound` at every lam of an array (inf where a
    term overflows)."""
    lam = np.asarray(lam, dtype=np.float64)
    mean_distance = math.pi * np.sqrt(_one_minus_mean_cosine(m, lam) / 2.0)
    with np.errstate(over="ignore", invalid="ignore"):
        if lipschitz > 0:
            smoothing = lipschitz * ratio * np.exp(2.0 * lam * radius) * (mean_distance + radius)
        else:
            smoothing = np.zeros_like(lam)
        if bound > 0 and max_len > 0:
            log_inputs = math.log(bound) + math.log(max_len) - lam * math.cos(radius)
            inputs = np.where(log_inputs > 709.0, np.inf, np.exp(np.minimum(log_inputs, 709.0)))
        else:
            inputs = np.zeros_like(lam)
        total = smoothing + inputs
    return np.where(np.isfinite(total), total, np.inf)


def paper_route_error_bound(
    m: int,
    *,
    lam: float,
    radius: float,
    measure_ratio: float,
    lipschitz: float,
    bound: float,
    max_len: int,
) -> float:
    """The book's bound on the sup error of the core head with one prefix token
    [0; lam b_k; f(b_k)] per cell V_k of a partition of S^m, for an L-Lipschitz target
    (geodesic distance) with sup |f| <= B and at most T = `max_len` input tokens:

        L rho e^(2 lam h) (E_m(lam) + h) + B T e^(-lam cos h),

    where h = `radius` bounds the distance from any point of a cell to its centre b_k,
    rho = `measure_ratio` >= max |V_k| / min |V_k|, and E_m(lam) is
    `vmf_mean_distance_bound(m, lam)`. The first term is the vMF smoothing bias, inflated by
    the discretisation of exp(lam <x, y>) over the cells (e^(2 lam h), + h) and by the cell
    measures the head leaves out (rho); the second is the attention the input tokens take.
    Returns inf where a term overflows.

    Raises TypeError or ValueError naming the argument for a dimension that is not an integer
    >= 1, a negative or non-finite number, a `measure_ratio` below 1 or a `radius` above pi.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    m = check_positive_int(m, "m")
    lam = check_nonnegative_float(lam, "lam")
    radius = check_positive_float(radius, "radius")
    measure_ratio = check_positive_float(measure_ratio, "measure_ratio")
    lipschitz = check_nonnegative_float(lipschitz, "lipschitz")
    bound = check_nonnegative_float(bound, "bound")
    max_len = check_positive_int(max_len, "max_len", minimum=0, maximum=MAX_SEQUENCE_LENGTH)
    if measure_ratio < 1.0:
        raise ValueError(f"measure_ratio is a ratio max/min and must be >= 1; got {measure_ratio}")
    if radius > math.pi:
        raise ValueError(f"radius must be at most pi (the sphere's diameter); got {radius}")
    terms = _bound_terms(
        m,
        np.array([lam]),
        radius=radius,
        ratio=measure_ratio,
        lipschitz=lipschitz,
        bound=bound,
        max_len=max_len,
    )
    return float(terms[0])


@dataclass(frozen=True)
class PaperRouteParameters:
    """The choices of the paper's route (as the book runs it) for accuracy `eps`:
    `cells_per_edge` n (n equal arcs on S^1, 2 (m+1) n^m cubed-sphere cells on S^m),
    `n_points` N prefix tokens, `radius` h (a bound on the distance from a cell's points to
    its centre), `measure_ratio` rho, the inverse temperature `lam`, the smoothing bias bound
    `bias` = L E_m(lam), and the guaranteed sup error `guaranteed` <= eps.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    eps: float
    m: int
    cells_per_edge: int
    n_points: int
    radius: float
    measure_ratio: float
    lam: float
    bias: float
    guaranteed: float


def _best_lam(
    m: int, cells: int, *, lipschitz: float, bound: float, max_len: int
) -> tuple[float, float]:
    """The lam (on a geometric grid, ratio 2^(1/16)) that minimises the guarantee for n cells
    per edge, and the guarantee there."""
    radius = _cell_radius(m, cells)
    # In logs: max_len * bound overflows at B = 1e308 (and the grid up to inf was a numpy
    # "maximum size" error).
    scale = max(max_len, 1) * max(bound, 1.0)
    log_scale = (
        math.log(scale + 2.0)
        if scale < 1e300
        else math.log(max(max_len, 1)) + math.log(max(bound, 1.0))
    )
    top = max(64.0 / radius, 2.0 * log_scale + 64.0)
    grid = np.exp(np.arange(math.log(1e-2), math.log(top), math.log(2.0) / 16.0))
    values = _bound_terms(
        m,
        grid,
        radius=radius,
        ratio=cell_measure_ratio_bound(m),
        lipschitz=lipschitz,
        bound=bound,
        max_len=max_len,
    )
    best = int(np.argmin(values))
    return float(grid[best]), float(values[best])


def paper_route_parameters(
    m: int, *, eps: float, lipschitz: float, bound: float, max_len: int
) -> PaperRouteParameters:
    """The fewest cells n (and the lam) for which the book's bound on the paper's route,
    `paper_route_error_bound`, is at most `eps`, computed without building anything: use it
    to tabulate the prefix length N(eps) = `.n_points` for any eps.

    For each n the bound is minimised over lam on a geometric grid; n is found by doubling
    and bisection. The bound is a proved guarantee at whatever (n, lam) is returned; the
    search only makes N small, not provably the smallest.

    Raises TypeError or ValueError naming the argument for bad inputs, and ValueError if no
    n up to 2^40 cells per edge reaches eps.

    Used in: book/theorem1_density.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    m = check_positive_int(m, "m")
    eps = check_positive_float(eps, "eps")
    lipschitz = check_nonnegative_float(lipschitz, "lipschitz")
    bound = check_nonnegative_float(bound, "bound")
    max_len = check_positive_int(max_len, "max_len", minimum=0, maximum=MAX_SEQUENCE_LENGTH)
    cache: dict[int, tuple[float, float]] = {}

    def best(n: int) -> tuple[float, float]:
        if n not in cache:
            cache[n] = _best_lam(m, n, lipschitz=lipschitz, bound=bound, max_len=max_len)
        return cache[n]

    high = 1
    while best(high)[1] > eps:
        if high >= _MAX_CELLS:
            raise ValueError(
                f"eps = {eps:g} on S^{m} (L = {lipschitz:g}, B = {bound:g}, T = {max_len}) "
                f"needs more than {_MAX_CELLS:.3g} cells per edge on the paper's route"
            )
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        if best(middle)[1] <= eps:
            high = middle
        else:
            low = middle
    lam, guaranteed = best(high)
    radius = _cell_radius(m, high)
    return PaperRouteParameters(
        eps=eps,
        m=m,
        cells_per_edge=high,
        n_points=_n_points(m, high),
        radius=radius,
        measure_ratio=cell_measure_ratio_bound(m),
        lam=lam,
        bias=lipschitz * vmf_mean_distance_bound(m, lam),
        guaranteed=guaranteed,
    )


def paper_route_prefix(
    f: Callable[[torch.Tensor], torch.Tensor],
    *,
    m: int,
    eps: float,
    lipschitz: float,
    bound: float,
    max_len: int,
    max_tokens: int = DEFAULT_MAX_POINTS,
) -> CorePrefix:
    """A prefix for `CoreHead(m, k)` built along the paper's route (smoothing, then a
    partition), with the book's own normaliser: one token [0; lam b_k; f(b_k)] per cell of
    a near-uniform partition of S^m, approximating an L-Lipschitz f: S^m -> R^k (geodesic
    distance, sup |f| <= `bound`) to sup error `eps` at every position of every sequence of
    at most `max_len` tokens.

    `f` maps float64 points (Q, m+1) to (Q, k). The cells are n equal arcs on S^1 and the
    2 (m+1) n^m cells of the equiangular cubed sphere on S^m, m >= 2; n and lam come from
    `paper_route_parameters`. Returns a `CorePrefix` of N tokens (N, 2(m+1) + k) whose
    `.parameters` is a `PaperRouteParameters` with the guaranteed error (<= eps), recomputed
    with the net's certified cell radius where that is smaller.

    Raises TypeError or ValueError naming the argument for bad inputs; ValueError, before
    building anything, if N exceeds `max_tokens` (the message gives N); ValueError if f
    exceeds `bound` on a cell centre or visibly breaks the Lipschitz constant between
    neighbouring centres (a necessary check, not a proof).

    Source: the route of the paper's overview figure (Petrov, Torr & Bibi, ICML 2024, shown
    on a co-author's publication page); the normaliser, the bound and its proof are the
    book's (book/theorem1_density.ipynb).

    Used in: book/theorem1_density.ipynb.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of points (Q, m+1) -> (Q, k); got {f!r:.60}")
    m = check_positive_int(m, "m")
    eps = check_positive_float(eps, "eps")
    lipschitz = check_nonnegative_float(lipschitz, "lipschitz")
    bound = check_positive_float(bound, "bound")
    max_len = check_positive_int(max_len, "max_len", maximum=MAX_SEQUENCE_LENGTH)
    max_tokens = check_positive_int(max_tokens, "max_tokens")
    parameters = paper_route_parameters(
        m, eps=eps, lipschitz=lipschitz, bound=bound, max_len=max_len
    )
    if parameters.n_points > max_tokens:
        raise ValueError(
            f"paper_route_prefix at eps = {eps:g} on S^{m} needs about "
            f"{parameters.n_points:.3g} prefix tokens ({parameters.cells_per_edge} cells per "
            f"edge), more than max_tokens = {max_tokens:.3g} "
            f"({parameters.n_points * 8 * (2 * (m + 1) + 1) / 2**30:.3g} GiB for k = 1). "
            "A larger eps (or a smaller Lipschitz constant) lowers it; raise max_tokens if the "
            "memory is there."
        )
    n = parameters.cells_per_edge
    if m == 1:
        net = SphereNet(points=circle_points(n), radius=math.pi / n, m=1)
    else:
        net = cubed_sphere_net(m, n, max_points=max_tokens)
    values = evaluate_target(f, net.points)
    _check_bound(values, bound)
    _check_lipschitz_on_cells(values, net.points, m, n, lipschitz)
    radius = min(parameters.radius, net.radius)
    guaranteed = paper_route_error_bound(
        m,
        lam=parameters.lam,
        radius=radius,
        measure_ratio=parameters.measure_ratio,
        lipschitz=lipschitz,
        bound=bound,
        max_len=max_len,
    )
    parameters = dataclasses.replace(parameters, radius=radius, guaranteed=guaranteed)
    prefix = core_prefix(net.points, values, parameters.lam)
    return dataclasses.replace(prefix, parameters=parameters, max_len=max_len)
