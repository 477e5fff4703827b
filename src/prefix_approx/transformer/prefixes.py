"""Prefixes for the fixed architectures: the query geometry of each core head, the grid of
control points that covers it, and the builders with their end-to-end guarantees."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .._validation import (
    as_float64,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
)
from ..bounds import MAX_DELTA, density_parameters, modulus_delta, modulus_value
from ..kolmogorov_arnold import KARepresentation, _inner_values, _outer_values
from ..sphere import DEFAULT_MAX_POINTS
from .factories import COPY_SHARPNESS
from .model import (
    HeadPrefixReport,
    PrefixedTransformer,
    TransformerPrefixes,
    _report,
    _seal,
)

__all__ = [
    "gather_prefix_length",
    "gather_prefixes",
    "ka_prefixes",
    "key_writing_prefixes",
    "mixing_prefixes",
]


# ----------------------------------------------------------------- prefix construction
@dataclass(frozen=True)
class _Geometry:
    """How parameter distances relate to geodesic distances on the query set of a head."""

    speed_min: float  # d(u(y), u(y')) >= speed_min |y - y'| within one position's piece
    speed_max: float  # d(u(y), u(y')) <= speed_max |y - y'|
    separation: float  # pieces of different positions are at least this far apart


def _arc_geometry(n: int) -> _Geometry:
    """E = (cos t, sin t), t = (2 pi / n)(p + x/2): arcs of length pi/n, gaps pi/n."""
    speed = math.pi / n
    return _Geometry(speed, speed, math.pi if n == 1 else math.pi / n)


def _box_geometry(box: Sequence[tuple[float, float]], n: int) -> _Geometry:
    """Queries (y, 1, cos f_j, sin f_j) for y in `box`: normalising v -> v/|v| has Jacobian
    norm <= 1/|v| <= 1/sqrt 2 along y; the angle between v and v' is at least
    sqrt 2 |y - y'| / (|v| |v'|); positions differ by at least 2 sin(pi/n) / max |v| in chord."""
    return _geometry_of_norm(sum(max(lo * lo, hi * hi) for lo, hi in box), n)


def _geometry_of_norm(y_max_sq: float, n: int) -> _Geometry:
    """`_box_geometry` for a box whose points have |y|^2 <= y_max_sq."""
    v_max = math.sqrt(2 + y_max_sq)
    separation = math.pi if n == 1 else 2 * math.asin(min(1.0, math.sin(math.pi / n) / v_max))
    return _Geometry(math.sqrt(2) / v_max**2, 1 / math.sqrt(2), separation)


@dataclass(frozen=True)
class _Continuity:
    """How much a head's target may change between parameters a distance t apart: at most
    omega(t). `lipschitz` is L when omega(t) = L t (the closed-form plan is then used), and
    None for a general modulus of continuity."""

    omega: Callable[[float], float]
    lipschitz: float | None


def _lipschitz(constant: float) -> _Continuity:
    def omega(t: float) -> float:
        return constant * t

    return _Continuity(omega, constant)


def _modulus(modulus: Callable[[float], float]) -> _Continuity:
    """A modulus of continuity, with its values checked (finite real numbers >= 0)."""
    if not callable(modulus):
        raise TypeError(f"a modulus of continuity must be a function; got {modulus!r:.60}")

    def omega(t: float) -> float:
        return modulus_value(modulus, t, "a modulus of continuity")

    return _Continuity(omega, None)


def _largest_within(omega: Callable[[float], float], level: float, cap: float) -> float:
    """The largest t <= cap (to 1e-12 relative) with omega(t) <= level, by bisection, for a
    nondecreasing omega; ValueError if no t > 0 qualifies."""
    if omega(cap) <= level:
        return cap
    low, high = 0.0, cap
    for _ in range(200):
        middle = (low + high) / 2
        if omega(middle) <= level:
            low = middle
        else:
            high = middle
        if low > 0 and high - low <= 1e-12 * low:
            break
    if low == 0.0:
        raise ValueError(
            f"no t > 0 has modulus(t) <= {level:.3g}: a modulus of continuity must tend to 0 at 0"
        )
    return low


def _rescaled(
    omega: Callable[[float], float], inside: float, outside: float
) -> Callable[[float], float]:
    """t -> omega(inside * t) / outside: the modulus after rescaling argument and value."""

    def rescaled(t: float) -> float:
        return omega(inside * t) / outside

    return rescaled


def _head_plan(
    geometry: _Geometry, dims: int, continuity: _Continuity, tolerance: float
) -> tuple[float, float]:
    """Net radius delta and grid spacing for one core head (the curve lemma of the book's
    sequence-to-sequence chapter): delta <= min(pi/4, 0.49 separation) with
    omega(2 delta / speed_min) <= tolerance / 2. Near control points (within 2 delta) lie in
    the same position's piece, at parameter distance <= 2 delta / speed_min, so they differ
    from the target by at most tolerance / 2. A grid of that spacing puts every query within
    speed_max * spacing * sqrt(dims) / 2 <= delta of a control point. For a Lipschitz target
    (omega(t) = L t) delta = tolerance speed_min / (4 L) in closed form; for a general modulus
    the largest delta is found by bisection (`modulus_delta`)."""
    lipschitz = continuity.lipschitz
    if lipschitz is not None:
        delta = tolerance * geometry.speed_min / (4 * lipschitz) if lipschitz > 0 else MAX_DELTA
    else:
        speed_min, omega = geometry.speed_min, continuity.omega
        delta = modulus_delta(lambda t: omega(t / speed_min), eps=tolerance)
    delta = min(delta, MAX_DELTA, 0.49 * geometry.separation)
    return delta, 2 * delta / (geometry.speed_max * math.sqrt(dims))


def _grid_log10(box: Sequence[tuple[float, float]], spacing: float) -> float:
    """log10 of the number of grid cells `_grid` makes, computed in floats (a box of many
    dimensions has more cells than any integer worth forming). Raises ValueError when a
    box this wide cannot be gridded at this spacing by any machine (a spacing that
    underflowed to 0, or more than 10^300 cells per axis), as when a representation's
    constants come from exp of a large parameter."""
    total = 0.0
    for lo, hi in box:
        cells = (hi - lo) / spacing if spacing > 0 else math.inf
        if not cells <= 1e300:
            raise ValueError(
                f"the prefix grid would need about {cells:.3g} cells per axis (spacing "
                f"{spacing:.3g} on a box of width {hi - lo:.3g}): the representation's "
                "constants are too large for any prefix; a smaller beta or n, or a larger "
                "eps, lowers them"
            )
        total += math.log10(max(1, math.ceil(cells)))
    return total


def _grid_size(box: Sequence[tuple[float, float]], spacing: float) -> int:
    """Number of grid cells `_grid` makes, exactly (call only once `_grid_log10` is known to
    be moderate: the product of many axes is a huge integer)."""
    counts: dict[int, int] = {}
    for lo, hi in box:
        cells = max(1, math.ceil((hi - lo) / spacing))
        counts[cells] = counts.get(cells, 0) + 1
    return math.prod(cells**power for cells, power in counts.items())


def _grid(box: Sequence[tuple[float, float]], spacing: float) -> tuple[torch.Tensor, float]:
    """Cell centres (G, s) of a grid on `box` with cells at most `spacing` wide, and the
    Euclidean distance within which every point of the box has a centre."""
    axes, half_widths = [], []
    for lo, hi in box:
        cells = max(1, math.ceil((hi - lo) / spacing))
        width = (hi - lo) / cells
        axes.append(lo + width * (torch.arange(cells, dtype=torch.float64) + 0.5))
        half_widths.append(width / 2)
    grid = torch.cartesian_prod(*axes).reshape(-1, len(box))
    return grid, math.sqrt(sum(w * w for w in half_widths))


def _check_continuity_on_grid(
    values: torch.Tensor,
    box: Sequence[tuple[float, float]],
    spacing: float,
    continuity: _Continuity,
    where: str,
) -> None:
    """Necessary check of a claimed Lipschitz constant or modulus on the builder's own grid:
    between neighbouring grid points (one cell apart along one axis, a distance t apart) the
    values may not change by more than omega(t). Between grid points the claim stays the
    caller's responsibility."""
    cells = [max(1, math.ceil((hi - lo) / spacing)) for lo, hi in box]
    widths = [(hi - lo) / c for (lo, hi), c in zip(box, cells, strict=True)]
    grid = values.reshape(*cells, values.shape[-1])
    for axis, width in enumerate(widths):
        if cells[axis] < 2:
            continue
        change = torch.linalg.vector_norm(grid.diff(dim=axis), dim=-1)
        limit = continuity.omega(width)
        allowed = limit * (1 + 1e-9) + 1e-12 * (1 + float(grid.abs().max()))
        worst = float(change.max())
        if worst > allowed:
            lipschitz = continuity.lipschitz
            if lipschitz is not None:
                raise ValueError(
                    f"the target is not {lipschitz:g}-Lipschitz as claimed ({where}): between "
                    f"grid points {width:.3g} apart it changes by {worst:.6g}, more than "
                    f"{limit:.6g}. Give a correct lipschitz constant."
                )
            raise ValueError(
                f"the target breaks its claimed modulus of continuity ({where}): between grid "
                f"points {width:.3g} apart it changes by {worst:.6g}, more than modulus("
                f"{width:.3g}) = {limit:.6g}. Give a correct modulus."
            )


def _head_prefix(
    model: PrefixedTransformer,
    layer_name: str,
    geometry: _Geometry,
    box: Sequence[tuple[float, float]],
    embed: Callable[[torch.Tensor, int], torch.Tensor],
    values: Callable[[torch.Tensor, int], torch.Tensor],
    continuity: _Continuity,
    tolerance: float,
    max_tokens: int,
) -> tuple[torch.Tensor, HeadPrefixReport]:
    """Prefix tokens (N, D) for one core head whose queries are embed(y, j) for y in `box` and
    positions j, approximating values(y, j) (changing by at most continuity.omega(t) over a
    parameter distance t) to `tolerance`."""
    delta, spacing = _head_plan(geometry, len(box), continuity, tolerance)
    log_size = math.log10(model.n) + _grid_log10(box, spacing)
    if log_size > math.log10(max_tokens) + 1e-9 or model.n * _grid_size(box, spacing) > max_tokens:
        lipschitz = continuity.lipschitz
        claim = "the given modulus" if lipschitz is None else f"Lipschitz constant {lipschitz:.3g}"
        gib = log_size + math.log10(model.d_model * 8 / 2**30)
        raise ValueError(
            f"the prefix of layer {layer_name!r} would have about {_power(log_size)} tokens "
            f"({_power(gib)} GiB), more than max_tokens = "
            f"{max_tokens:.3g}: its grid on a {len(box)}-dimensional box has spacing "
            f"{spacing:.3g} for {claim} and tolerance "
            f"{tolerance:.3g}. A larger eps lowers it; raise max_tokens if the memory is there."
        )
    grid, param_radius = _grid(box, spacing)
    radius = max(geometry.speed_max * param_radius, 1e-300)
    points = torch.cat([embed(grid, j) for j in range(model.n)])
    points = points / torch.linalg.vector_norm(points, dim=1, keepdim=True)
    pieces = [values(grid, j) for j in range(model.n)]
    # The claimed constant is checked on the grid, or on a grid of at least 3 cells per axis
    # when the prefix's grid is coarser (a constant target, L = 0, has a single cell).
    fine = min(spacing, min(hi - lo for lo, hi in box) / 3)
    check_grid = grid if fine == spacing else _grid(box, fine)[0]
    for j in range(model.n):
        piece = pieces[j] if fine == spacing else values(check_grid, j)
        _check_continuity_on_grid(piece, box, fine, continuity, f"{layer_name}, position {j}")
    target = torch.cat(pieces)
    # |f| on the whole piece: at most its largest grid value plus omega(grid radius).
    bound = float(torch.linalg.vector_norm(target, dim=1).max()) + continuity.omega(param_radius)
    if continuity.lipschitz is not None:
        near_error = continuity.lipschitz * 2 * delta / geometry.speed_min
    else:
        near_error = continuity.omega(2 * delta / geometry.speed_min)
    params = density_parameters(
        eps=tolerance,
        near_error=near_error,
        delta=delta,
        bound=max(bound, 1e-12),
        n_points=points.shape[0],
        radius=radius,
        max_len=model.n,
    )
    tokens = torch.zeros((points.shape[0], model.d_model), dtype=torch.float64)
    key, val = model.layout["KEY"], model.layout["VAL"]
    tokens[:, key.start : key.start + points.shape[1]] = params.lam * points
    tokens[:, val.start : val.start + target.shape[1]] = target
    report = _report(layer_name, points.shape[0], params.lam, radius, tolerance, params.guaranteed)
    return tokens, report


def _box_prefix(
    model: PrefixedTransformer,
    layer_name: str,
    box: Sequence[tuple[float, float]],
    values: Callable[[torch.Tensor, int], torch.Tensor],
    continuity: _Continuity,
    tolerance: float,
    max_tokens: int,
) -> tuple[torch.Tensor, HeadPrefixReport]:
    """`_head_prefix` for a core head whose queries are (y, 1, cos f_j, sin f_j), y in `box`."""
    return _head_prefix(
        model,
        layer_name,
        _box_geometry(box, model.n),
        box,
        lambda y, j: _box_point(y, j, model.n),
        values,
        continuity,
        tolerance,
        max_tokens,
    )


def _power(log10: float) -> str:
    """10^log10, written as a number when it is moderate and as 10^x otherwise."""
    return f"{10.0**log10:.3g}" if log10 < 15 else f"10^{log10:.1f}"


def _angle_point(x: torch.Tensor, p: int, n: int) -> torch.Tensor:
    angle = 2 * math.pi / n * (p + x[:, 0] / 2)
    return torch.stack((torch.cos(angle), torch.sin(angle)), 1)


def _box_point(y: torch.Tensor, j: int, n: int) -> torch.Tensor:
    phase = 2 * math.pi * j / n
    tail = torch.tensor([1.0, math.cos(phase), math.sin(phase)], dtype=torch.float64)
    return torch.cat((y, tail.expand(y.shape[0], 3)), 1)


def ka_prefixes(
    model: PrefixedTransformer,
    representation: KARepresentation,
    *,
    eps: float,
    max_tokens: int = DEFAULT_MAX_POINTS,
) -> TransformerPrefixes:
    """Prefixes for `ka_transformer(n, k)` that make it compute the target of
    `representation` to sup error `eps` at every position of every sequence in [0, 1]^n.

    Each term's mean is rescaled to [-1, 1] (z' = (z - c) / s). Budget: with Q the number of
    active terms, every outer head gets eps / (2Q) and inner head q gets
    min(eps / (2 Q s L_chi_q), margin / s), so that the mean it feeds to the outer head stays
    inside the outer head's domain. The guarantee adds, over the terms, the outer head's
    error plus L_chi_q times the inner head's.

    A term with a modulus of continuity w in the representation (`outer_modulus`,
    `inner_modulus`) uses it in place of the Lipschitz constant: the head's net radius is
    the largest with w(2 delta / speed) <= tolerance / 2, the inner head's tolerance is the
    largest t <= margin / s with w(s t) <= eps / (2Q), and the guarantee adds w(s e_in) for
    the inner head's guaranteed error e_in (in units of z').

    The representation's declared Lipschitz constants are checked on each head's grid, its
    declared mean ranges on a grid of [0, 1], and that it represents its target: evaluate(x)
    must equal target(x) (to 1e-9 of the target's size) on fixed test sequences (random ones,
    constant ones, and the unit vectors and their complements); these are necessary checks,
    each failing with ValueError naming what is false. `inner` and `outer` must return
    finite values of shapes (B,) and (B, k) (ValueError naming the function otherwise). The
    prefixes together may hold at most `max_tokens` tokens, which is checked before each
    head is built (ValueError with the size otherwise).

    Used in: book/course.ipynb, book/prefix_mixing.ipynb, book/seq2seq_universality.ipynb.
    """
    _check_model(model, "kolmogorov-arnold")
    rep = _check_representation(representation, model)
    eps = check_positive_float(eps, "eps")
    max_tokens = check_positive_int(max_tokens, "max_tokens")
    _check_represents_target(rep)
    used = 0
    n = model.n
    tokens: list[torch.Tensor | None] = [None] * model.depth
    reports = []
    guaranteed = 0.0
    active = len(rep.terms)
    for q in rep.terms:
        # Work with the mean rescaled to [-1, 1]: the inner prefix outputs (psi - c) / s and
        # the outer prefix applies chi(c + s z'). The fixed weights do not change; only the
        # values written into the prefixes do, and the query set stays a short, well-conditioned
        # curve whatever the representation's scale.
        lo, hi = rep.mean_range[q]
        _check_mean_range(rep, q, n)
        centre, scale = (lo + hi) / 2, max((hi - lo) / 2, 1e-12)
        margin = rep.margin / scale
        outer_tol = eps / (2 * active)
        outer_modulus = rep.outer_modulus.get(q)
        if outer_modulus is None:
            outer_lipschitz = rep.outer_lipschitz[q] * scale  # per unit of z'
            outer_continuity = _lipschitz(outer_lipschitz)
            inner_tol = eps / (2 * active * outer_lipschitz) if outer_lipschitz > 0 else margin
        else:  # chi(c + s z') changes by at most w(s t) over a distance t in z'
            outer_continuity = _modulus(_rescaled(_modulus(outer_modulus).omega, scale, 1.0))
            inner_tol = _largest_within(outer_continuity.omega, outer_tol, margin)
        inner_tol = min(inner_tol, margin)
        inner_modulus = rep.inner_modulus.get(q)
        if inner_modulus is None:
            inner_continuity = _lipschitz(rep.inner_lipschitz[q] / scale)
        else:  # (psi - c) / s changes by at most w(t) / s
            inner_continuity = _modulus(_rescaled(_modulus(inner_modulus).omega, 1.0, scale))

        def psi(y: torch.Tensor, p: int, q: int = q, c: float = centre, s: float = scale):
            return ((_inner_values(rep, y[:, 0], p, q) - c) / s)[:, None]

        inner_tokens, inner_report = _head_prefix(
            model,
            f"inner {q}",
            _arc_geometry(n),
            [(0.0, 1.0)],
            lambda y, p: _angle_point(y, p, n),
            psi,
            inner_continuity,
            inner_tol,
            max_tokens - used,
        )
        used += inner_tokens.shape[0]
        box = [(-1.0 - margin, 1.0 + margin)]

        def chi(z: torch.Tensor, j: int, q: int = q, c: float = centre, s: float = scale):
            return _outer_values(rep, c + s * z[:, 0], j, q)

        outer_tokens, outer_report = _box_prefix(
            model, f"outer {q}", box, chi, outer_continuity, outer_tol, max_tokens - used
        )
        used += outer_tokens.shape[0]
        tokens[3 * q] = inner_tokens
        tokens[3 * q + 2] = outer_tokens
        reports += [inner_report, outer_report]
        guaranteed += outer_report.guaranteed + outer_continuity.omega(inner_report.guaranteed)
    return _seal(tokens, model, eps, guaranteed, reports)


def _check_represents_target(rep: KARepresentation) -> None:
    """Necessary check that the representation represents its target: evaluate(x) equals
    target(x) to 1e-9 (1 + max |target|) on 81 + 2 min(n, 32) fixed sequences (64 random,
    17 constant, unit vectors and their complements). The guarantee of `ka_prefixes` is
    computed through the representation and reported against the target; an edited
    representation (a term dropped, say) would make it false."""
    n = rep.n
    generator = torch.Generator().manual_seed(0)
    eye = torch.eye(n, dtype=torch.float64)[: min(n, 32)]
    x = torch.cat(
        [
            torch.rand((64, n), generator=generator, dtype=torch.float64),
            torch.linspace(0.0, 1.0, 17, dtype=torch.float64)[:, None].expand(-1, n),
            eye,
            1 - eye,
        ]
    )
    through = rep.evaluate(x)
    direct = rep(x)
    gaps = torch.linalg.vector_norm(through - direct, dim=-1)
    allowed = 1e-9 * (1 + float(torch.linalg.vector_norm(direct, dim=-1).max()))
    worst = float(gaps.max())
    if worst > allowed:
        row, j = divmod(int(gaps.argmax()), n)
        sequence = ", ".join(f"{v:.3g}" for v in x[row, :8].tolist()) + (", ..." if n > 8 else "")
        raise ValueError(
            f"representation {rep.name!r} does not represent its target: at x = "
            f"[{sequence}], position {j}, evaluate(x) (the sum over terms {rep.terms}) "
            f"differs from target(x) by {worst:.6g}, more than {allowed:.3g}. The prefixes "
            "compute evaluate; give a representation whose terms, inner and outer functions "
            "add up to its target"
        )


def _check_mean_range(rep: KARepresentation, q: int, n: int) -> None:
    """Necessary check of a representation's declared mean range for term q: the mean
    (1/n) sum_p psi_(p,q)(x_p) ranges over [sum_p min psi_p / n, sum_p max psi_p / n] (the x_p
    vary independently), measured here on a grid of 1025 points of [0, 1], which must lie
    within mean_range[q] (up to 1e-9 of its width). A hand-made or edited representation may
    declare a range its functions leave, and the outer head's prefix would not cover it."""
    grid = torch.linspace(0.0, 1.0, 1025, dtype=torch.float64)
    lows, highs = [], []
    for p in range(n):
        values = _inner_values(rep, grid, p, q)
        lows.append(float(values.min()))
        highs.append(float(values.max()))
    low, high = sum(lows) / n, sum(highs) / n
    lo, hi = rep.mean_range[q]
    slack = 1e-9 * max(1.0, hi - lo)
    if low < lo - slack or high > hi + slack:
        raise ValueError(
            f"representation: mean_range[{q}] = ({lo:.6g}, {hi:.6g}) is false: the mean of "
            f"the inner functions reaches [{low:.6g}, {high:.6g}] on a grid of [0, 1]"
        )


def gather_prefixes(
    model: PrefixedTransformer,
    target: Callable[[torch.Tensor], torch.Tensor],
    *,
    lipschitz: float,
    eps: float,
    max_tokens: int = DEFAULT_MAX_POINTS,
) -> TransformerPrefixes:
    """Prefixes for `gather_transformer(n, k)`: only the last layer gets one, covering the cube
    [0, 1]^n at every position with values target(x)[:, j]. `target` maps (B, n) -> (B, n, k)
    and each of its outputs must be `lipschitz`-Lipschitz in x (Euclidean norm). The copy
    heads' leakage, at most (n - 1) exp(-COPY_SHARPNESS (1 - cos(2 pi / n))) per slot, is
    added to the guarantee. The constant is checked on the grid (a necessary check), and the
    prefix length (`gather_prefix_length`) against `max_tokens` before anything is built.

    Used in: book/seq2seq_universality.ipynb.
    """
    _check_model(model, "gather")
    lipschitz = check_nonnegative_float(lipschitz, "lipschitz")
    eps = check_positive_float(eps, "eps")
    max_tokens = check_positive_int(max_tokens, "max_tokens")
    n = model.n
    leak = 0.0 if n == 1 else (n - 1) * math.exp(-COPY_SHARPNESS * (1 - math.cos(2 * math.pi / n)))
    box = [(0.0, 1.0)] * n

    def values(y: torch.Tensor, j: int) -> torch.Tensor:
        return _target_values(target, y, model)[:, j]

    last, report = _box_prefix(
        model, "approximate", box, values, _lipschitz(lipschitz), eps * 0.999, max_tokens
    )
    tokens: list[torch.Tensor | None] = [None] * model.depth
    tokens[-1] = last
    guaranteed = report.guaranteed + lipschitz * math.sqrt(n) * leak
    return _seal(tokens, model, eps, guaranteed, (report,))


#: `gather_prefix_length` returns exact integers below 10 ** GATHER_LENGTH_MAX_LOG10.
GATHER_LENGTH_MAX_LOG10 = 4000


def gather_prefix_length(n: int, *, lipschitz: float, eps: float) -> int:
    """The prefix length `gather_prefixes` would use for `gather_transformer(n)` and a target
    with Lipschitz constant `lipschitz`, computed without building the prefix (which grows
    like eps^-n).

    The length is an exact Python int. It is estimated in logarithms first, in time
    independent of how large it is; a length above 10^4000 (`GATHER_LENGTH_MAX_LOG10`; more
    digits than Python prints by default, and beyond any machine) raises ValueError stating
    its log10 instead of forming the integer. Raises TypeError or ValueError naming the
    argument for n not an integer >= 1, lipschitz not a finite number >= 0 or eps not a
    finite number > 0.

    Used in: book/seq2seq_universality.ipynb.
    """
    n = check_positive_int(n, "n")
    lipschitz = check_nonnegative_float(lipschitz, "lipschitz")
    eps = check_positive_float(eps, "eps")
    # Every axis of the cube [0, 1]^n has the same number of cells: no box of n entries.
    geometry = _geometry_of_norm(float(n), n)
    _, spacing = _head_plan(geometry, n, _lipschitz(lipschitz), eps * 0.999)
    axis = [(0.0, 1.0)]
    log_size = math.log10(n) + n * _grid_log10(axis, spacing)
    if log_size > GATHER_LENGTH_MAX_LOG10:
        raise ValueError(
            f"the gather prefix for n = {n}, lipschitz = {lipschitz:g}, eps = {eps:g} would "
            f"have about 10^{log_size:.1f} tokens (log10 = {log_size:.6g}), beyond the "
            f"exact integers gather_prefix_length returns (below 10^{GATHER_LENGTH_MAX_LOG10})"
            " and beyond any machine; a smaller n or a larger eps lowers it"
        )
    return n * _grid_size(axis, spacing) ** n


def mixing_prefixes(
    model: PrefixedTransformer,
    apply: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor],
    *,
    lipschitz: float,
    eps: float,
    max_tokens: int = DEFAULT_MAX_POINTS,
) -> TransformerPrefixes:
    """Prefixes for `mixing_transformer(n, k)` computing g_j(x) = apply(x_j, mean(x), j) to sup
    error `eps`: `apply(x_j, m, j)` maps (B,), (B,) to (B, k), `lipschitz`-Lipschitz in
    (x_j, m), checked on the grid (a necessary check). Only the core head gets a prefix, of at
    most `max_tokens` tokens.

    Used in: book/course.ipynb, book/prefix_mixing.ipynb.
    """
    _check_model(model, "mixing")
    if not callable(apply):
        raise TypeError(f"apply must be a function (x_j, m, j) -> (B, k); got {apply!r:.60}")
    lipschitz = check_nonnegative_float(lipschitz, "lipschitz")
    eps = check_positive_float(eps, "eps")
    max_tokens = check_positive_int(max_tokens, "max_tokens")
    box = [(0.0, 1.0), (0.0, 1.0)]

    def values(y: torch.Tensor, j: int) -> torch.Tensor:
        out = as_float64(apply(y[:, 0], y[:, 1], j), "apply(x_j, m, j)", ndim=2)
        if out.shape != (y.shape[0], model.k):
            raise ValueError(
                f"apply must return shape (B, k) = (B, {model.k}); got {tuple(out.shape)}"
            )
        return out

    last, report = _box_prefix(model, "apply", box, values, _lipschitz(lipschitz), eps, max_tokens)
    return _seal((None, last), model, eps, report.guaranteed, (report,))


#: The smallest eps `key_writing_prefixes` accepts: below it float64 rounding of the outputs
#: (about n 1e-16) is no longer small against eps.
KEY_WRITING_MIN_EPS = 1e-12


def key_writing_prefixes(
    model: PrefixedTransformer,
    *,
    eps: float,
    offset: int = 1,
    max_tokens: int = DEFAULT_MAX_POINTS,
) -> TransformerPrefixes:
    """A layer-1 prefix for `key_writing_transformer(n)` that makes layer 2 shift the
    sequence cyclically: the output at position i is within `eps` of x_((i - offset) mod n)
    for every sequence in [0, 1]^n (up to float64 rounding, about 1e-16). Layer 2 gets no
    prefix: the prefix of layer 1 changes which token layer 2 attends to.

    The prefix has n tokens (n, 13); token j has key lam u_j and value s u_(j + offset), with
    u_j = (cos(2 pi j / n), sin(2 pi j / n)). Position p attends in layer 1 to token p with
    weight 1 - eta, eta = 1 - e^lam / (sum_j e^(lam cos(2 pi j / n)) + n), and so writes into
    slot K a key within 2 s eta of s u_(p + offset). With g = 1 - cos(2 pi / n), lam =
    ln(64 (2n - 1) / g) / min(g, 1) makes eta <= g / 64; then s = ln((n - 1) / eps) /
    (g - 4 eta) makes the guarantee (n - 1) exp(-s (g - 4 eta)) equal to eps (the proposition of the
    chapter "Element-wise prefixes, pretrained mixing"). The report of layer 1 gives lam and,
    as its error, the bound 2 s eta on the distance of the written keys from s u_(p + offset);
    s is the norm of the VAL entries of the prefix tokens.

    Every constant is computed in logarithms (1 - cos t as 2 sin^2(t/2)), so none overflows.
    Raises TypeError if model is not a PrefixedTransformer or offset not an integer, and
    ValueError if model is not a `key_writing_transformer`, eps is not in [1e-12, 1)
    (`KEY_WRITING_MIN_EPS`: below it float64 rounding, not the construction, sets the error;
    every output is an average of tokens in [0, 1], so an error of 1 needs no prefix), n
    exceeds `max_tokens` (the prefix has n tokens) or offset is 0 modulo n (the identity is
    not a shift).

    Used in: book/prefix_mixing.ipynb.
    """
    _check_model(model, "key-writing")
    eps = check_positive_float(eps, "eps")
    if eps >= 1:
        raise ValueError(
            f"eps must be < 1: every output is an average of tokens in [0, 1]; got {eps}"
        )
    if eps < KEY_WRITING_MIN_EPS:
        raise ValueError(
            f"eps must be >= {KEY_WRITING_MIN_EPS:g}; got {eps:g}: float64 rounding of the "
            "outputs (about n 1e-16) would exceed the error the construction guarantees"
        )
    max_tokens = check_positive_int(max_tokens, "max_tokens")
    if model.n > max_tokens:
        raise ValueError(
            f"the prefix would have n = {model.n} tokens ({model.n * model.d_model * 8 / 2**30:.3g}"
            f" GiB), more than max_tokens = {max_tokens}; raise max_tokens if the memory is there"
        )
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral):
        raise TypeError(f"offset must be an integer; got {type(offset).__name__} {offset!r:.40}")
    n = model.n
    offset = int(offset) % n
    if offset == 0:
        raise ValueError(f"offset must not be 0 modulo n = {n}: that is the identity")
    gap = 2 * math.sin(math.pi / n) ** 2  # 1 - cos(2 pi / n), without cancellation
    # eta <= (n - 1) e^(-lam g) + n e^(-lam) <= (2n - 1) e^(-lam min(g, 1)) = g / 64.
    lam = (math.log(64) + math.log(2 * n - 1) - math.log(gap)) / min(gap, 1.0)
    # eta from the exact normaliser, with every term divided by e^lam (no overflow).
    j = torch.arange(1, n, dtype=torch.float64)
    others = float(torch.exp(-lam * 2 * torch.sin(math.pi * j / n) ** 2).sum())
    others += n * math.exp(-lam)
    eta = others / (1 + others)
    margin = gap - 4 * eta
    scale = (math.log(n - 1) - math.log(eps)) / margin * (1 + 1e-12)
    guaranteed = (n - 1) * math.exp(-scale * margin)
    phases = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    circle = torch.stack((torch.cos(phases), torch.sin(phases)), 1)
    tokens = torch.zeros((n, model.d_model), dtype=torch.float64)
    tokens[:, model.layout["KEY"]] = lam * circle
    tokens[:, model.layout["VAL"]] = scale * circle.roll(-offset, dims=0)
    key_error = 2 * scale * eta
    report = _report("write keys", n, lam, 0.0, scale * gap / 32, key_error)
    return _seal((tokens, None), model, eps, guaranteed, (report,))


# ----------------------------------------------------------------------------- checks
def _check_model(model: object, route: str) -> None:
    if not isinstance(model, PrefixedTransformer):
        raise TypeError(f"model must be a PrefixedTransformer; got {type(model).__name__}")
    if model.route != route:
        raise ValueError(f"this builder is for the {route!r} route; the model is {model.route!r}")


def _check_representation(rep: object, model: PrefixedTransformer) -> KARepresentation:
    if not isinstance(rep, KARepresentation):
        raise TypeError(f"representation must be a KARepresentation; got {type(rep).__name__}")
    if rep.n != model.n or rep.k != model.k:
        raise ValueError(
            f"the representation is for n = {rep.n}, k = {rep.k}; the model is for n = "
            f"{model.n}, k = {model.k}"
        )
    if any(q < 0 or q >= 2 * model.n + 1 for q in rep.terms):
        raise ValueError(f"terms must lie in 0..{2 * model.n}; got {rep.terms}")
    # A representation may be built or edited by hand: its constants feed the error budget,
    # so each must be a finite number (ranges ordered, Lipschitz constants >= 0), or a
    # function (a modulus of continuity, with which the Lipschitz constant may be math.inf).
    check_positive_float(rep.margin, "representation margin")
    for kind in ("inner", "outer"):
        moduli = getattr(rep, f"{kind}_modulus")
        if not isinstance(moduli, dict) or any(q not in rep.terms for q in moduli):
            raise ValueError(
                f"representation {kind}_modulus must be a dict from terms of the "
                f"representation to functions; got {moduli!r:.60}"
            )
        for q, modulus in moduli.items():
            if not callable(modulus):
                raise TypeError(
                    f"representation {kind}_modulus[{q}] must be a function of a distance; "
                    f"got {modulus!r:.60}"
                )
    for q in rep.terms:
        for field_name in ("inner_range", "mean_range"):
            try:
                lo, hi = (float(v) for v in getattr(rep, field_name)[q])
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"representation {field_name}[{q}] must be (lo, hi)") from err
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ValueError(
                    f"representation {field_name}[{q}] must be finite with lo <= hi; "
                    f"got ({lo}, {hi})"
                )
        for kind in ("inner", "outer"):
            constants = getattr(rep, f"{kind}_lipschitz")
            if q not in constants:
                raise ValueError(f"representation {kind}_lipschitz has no entry for term {q}")
            name = f"representation {kind}_lipschitz[{q}]"
            if q not in getattr(rep, f"{kind}_modulus"):
                check_nonnegative_float(constants[q], name)
                continue
            try:
                value = float(constants[q])
            except (TypeError, ValueError) as err:
                raise TypeError(f"{name} must be a real number or math.inf") from err
            if math.isnan(value) or value < 0:
                raise ValueError(f"{name} must be >= 0 or math.inf; got {value}")
    return rep


def _target_values(
    target: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, model: PrefixedTransformer
) -> torch.Tensor:
    if not callable(target):
        raise TypeError(f"target must be a function (B, n) -> (B, n, k); got {target!r:.60}")
    out = as_float64(target(x.clone()), "target(x)")
    if out.shape != (x.shape[0], model.n, model.k):
        raise ValueError(
            f"target must return shape (B, n, k) = ({x.shape[0]}, {model.n}, {model.k}); got "
            f"{tuple(out.shape)}"
        )
    return out
