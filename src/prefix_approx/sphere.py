"""Points on the unit sphere S^m in R^(m+1): point sets, distances and delta-nets.

Distances on the sphere are geodesic (angles, in radians). A delta-net is a finite set of
points such that every point of S^m lies within geodesic distance delta of one of them; its
covering radius is the smallest such delta. The delta-nets built here carry a *certified*
radius: an upper bound on their covering radius, computed exactly from their construction.
`covering_radius` measures the radius of any point set from below by sampling; `deepest_hole`
computes it exactly from the set's convex hull.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from scipy.spatial import ConvexHull, QhullError
from scipy.special import betainc, betaln

from ._validation import (
    ArrayLike,
    as_float64,
    as_indices,
    as_sphere_points,
    check_positive_float,
    check_positive_int,
    check_seed,
)

__all__ = [
    "DEFAULT_MAX_POINTS",
    "SphereNet",
    "cap_fraction",
    "circle_points",
    "covering_number_lower_bound",
    "covering_radius",
    "cubed_sphere_corners",
    "cubed_sphere_net",
    "cubed_sphere_size",
    "deepest_hole",
    "delta_net",
    "delta_net_size_bound",
    "fibonacci_sphere",
    "geodesic_distance",
    "nearest_point",
    "random_sphere_points",
]

_BLOCK_ELEMENTS = 2**22


def _angle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Angle between unit vectors along the last axis, accurate at 0 and at pi alike."""
    return 2.0 * torch.atan2(
        torch.linalg.vector_norm(x - y, dim=-1), torch.linalg.vector_norm(x + y, dim=-1)
    )


#: Default largest number of points (or prefix tokens) a builder makes before refusing:
#: 4 million tokens of a core head on S^3 are about 300 MB.
DEFAULT_MAX_POINTS = 4_000_000

_FEWER = "Ask for fewer points, or raise max_points if the memory is there."


def _describe_count(count: float) -> str:
    """A count of any size (an int of any length, or a float, perhaps inf) for a message:
    '4.25e+06', or '10^4000.3' past float range (formatting a long int raises)."""
    if count < 1e300:
        return f"{float(count):.3g}"
    if count == math.inf:
        return "more than 10^308"
    return f"10^{math.log10(count):.1f}"


def _estimate(log10_count: float) -> float:
    """10^log10_count as a float, inf past float range (10.0 ** 400 raises OverflowError)."""
    return 10.0**log10_count if log10_count < 308.0 else math.inf


def _check_point_budget(count: float, max_points: int, what: str, advice: str) -> None:
    """Raise ValueError when `count` points (an int of any size, or a float estimate) pass
    `max_points`; the message gives the count and its memory."""
    if count > max_points:
        memory = f" ({count * 8 / 2**30:.3g} GiB per coordinate)" if count < 1e300 else ""
        raise ValueError(
            f"{what} would have {'about ' if count < math.inf else ''}{_describe_count(count)} "
            f"points, more than max_points = "
            f"{max_points:.3g}{memory}. {advice}"
        )


def _check_coordinate_budget(count: float, m: int, max_points: int, what: str, advice: str) -> None:
    """Raise ValueError when `count` points of S^m hold more than 16 max_points numbers: a
    point of more than 16 coordinates counts as several, for in high dimension a few points
    are already too large (10 points of S^(10^8) are 8 GB)."""
    coordinates = count * (m + 1)
    if coordinates > _COORDINATES_PER_POINT * max_points:
        memory = f" ({coordinates * 8 / 2**30:.3g} GiB)" if coordinates < 1e300 else ""
        raise ValueError(
            f"{what} would hold {_describe_count(count)} points of {m + 1} coordinates, "
            f"{_describe_count(coordinates)} numbers{memory}, more than "
            f"{_COORDINATES_PER_POINT} max_points = {_COORDINATES_PER_POINT * max_points:.3g} "
            f"(a point of more than {_COORDINATES_PER_POINT} coordinates counts as several "
            f"against max_points). {advice}"
        )


#: Coordinates a point may have before it counts as more than one against max_points.
_COORDINATES_PER_POINT = 16


#: Largest count (of points, caps or prefix tokens) the counting functions return as an
#: exact int: 10^4000 (Python refuses to print an int of more than 4300 digits).
MAX_COUNT_LOG10 = 4000.0


def _check_count_log10(log10_count: float, what: str, advice: str) -> None:
    """Raise ValueError when a count whose base-10 logarithm is `log10_count` passes
    10^MAX_COUNT_LOG10, before the count is built (the int itself would take seconds)."""
    if not log10_count <= MAX_COUNT_LOG10:
        size = f"10^{log10_count:.0f}" if math.isfinite(log10_count) else "beyond any float"
        raise ValueError(
            f"{what} is about {size}, more than 10^{MAX_COUNT_LOG10:.0f}: too large to count "
            f"as an int. {advice}"
        )


def _int_from_log(log_value: float, relative_margin: float) -> int:
    """floor(exp(log_value) (1 - relative_margin)) as an exact int, for log_value of any size
    up to MAX_COUNT_LOG10 decades: exp of the fraction, shifted by the power of 2."""
    if log_value < 700.0:
        return math.floor(math.exp(log_value) * (1.0 - relative_margin))
    shift = int(log_value / math.log(2.0)) - 60
    mantissa = math.exp(log_value - shift * math.log(2.0)) * (1.0 - relative_margin)  # ~2^60
    return int(mantissa) << shift


def geodesic_distance(x: ArrayLike, y: ArrayLike) -> torch.Tensor:
    """Geodesic distance (angle in radians, in [0, pi]) between points of S^m.

    `x` (..., m+1) and `y` (..., m+1) broadcast against each other along the leading axes;
    for all pairs use `x[:, None]` and `y[None, :]`. Computed as 2 atan2(|x - y|, |x + y|),
    which stays accurate for nearby and for antipodal points, unlike arccos(<x, y>).

    Used in: book/corollary2_elementwise.ipynb, book/sphere_nets.ipynb,
    book/theorem1_density.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    x = as_sphere_points(x, "x", min_ndim=1)
    y = as_sphere_points(y, "y", min_ndim=1)
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(
            f"x and y must be points of the same sphere; their last dimensions are "
            f"{x.shape[-1]} and {y.shape[-1]}"
        )
    try:
        torch.broadcast_shapes(x.shape, y.shape)
    except RuntimeError as err:
        raise ValueError(
            f"x {tuple(x.shape)} and y {tuple(y.shape)} do not broadcast against each other"
        ) from err
    return _angle(x, y)


def circle_points(
    n: int, *, offset: float = 0.0, max_points: int = DEFAULT_MAX_POINTS
) -> torch.Tensor:
    """`n` equally spaced points on S^1, shape (n, 2): angles offset + 2 pi j / n.

    Their covering radius is exactly pi / n. Raises ValueError past `max_points` points.

    Used in: book/beyond_saturation.ipynb, book/corollary2_elementwise.ipynb, book/course.ipynb,
    book/lemma3_core_head.ipynb, book/theorem1_density.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    n = check_positive_int(n, "n")
    _check_point_budget(n, check_positive_int(max_points, "max_points"), "circle_points", _FEWER)
    offset = float(as_float64([offset], "offset")[0])
    steps = 2.0 * math.pi * torch.arange(n, dtype=torch.float64) / n
    if abs(offset) <= 2.0 * math.pi:
        angles = offset + steps
        return torch.stack((torch.cos(angles), torch.sin(angles)), dim=-1)
    # A large offset: adding it to the steps would lose them in rounding (at 1e17 all n points
    # coincide), and reducing it modulo a rounded 2 pi is off by offset * 2e-16 radians. The
    # libm cos and sin reduce their argument exactly, so rotate by (cos offset, sin offset).
    c, s = math.cos(offset), math.sin(offset)
    cos_steps, sin_steps = torch.cos(steps), torch.sin(steps)
    return torch.stack((c * cos_steps - s * sin_steps, s * cos_steps + c * sin_steps), dim=-1)


def fibonacci_sphere(n: int, *, max_points: int = DEFAULT_MAX_POINTS) -> torch.Tensor:
    """`n` nearly uniform points on S^2 on a Fibonacci (golden-angle) spiral, shape (n, 3).

    Point j has height z = 1 - (2j + 1)/n and longitude j times the golden angle
    pi (3 - sqrt 5), so every point stands for the same area 4 pi / n. Raises ValueError past
    `max_points` points.

    Used in: book/lemma3_core_head.ipynb, book/sphere_nets.ipynb, book/spherical_designs.ipynb,
    book/theorem1_density.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    n = check_positive_int(n, "n")
    _check_point_budget(n, check_positive_int(max_points, "max_points"), "fibonacci_sphere", _FEWER)
    j = torch.arange(n, dtype=torch.float64)
    z = 1.0 - (2.0 * j + 1.0) / n
    radius = torch.sqrt((1.0 - z * z).clamp_min(0.0))
    longitude = j * math.pi * (3.0 - math.sqrt(5.0))
    return torch.stack((radius * torch.cos(longitude), radius * torch.sin(longitude), z), dim=-1)


def random_sphere_points(
    n: int, m: int, *, seed: int, max_points: int = DEFAULT_MAX_POINTS
) -> torch.Tensor:
    """`n` independent uniform random points on S^m, shape (n, m+1), from seed `seed`.

    Normalised standard Gaussian vectors, drawn from a private `torch.Generator`, so the
    result depends on `seed` only. Raises ValueError past `max_points` points.

    Also raises ValueError, before allocating, when the points hold more than
    16 `max_points` numbers (a point of more than 16 coordinates counts as several against
    the budget): 10 points of S^(10^8) are 8 GB.

    Used in: book/corollary2_elementwise.ipynb, book/lemma3_core_head.ipynb,
    book/sphere_nets.ipynb, book/spherical_designs.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    n = check_positive_int(n, "n", minimum=0)
    m = check_positive_int(m, "m")
    max_points = check_positive_int(max_points, "max_points")
    _check_point_budget(n, max_points, "random_sphere_points", _FEWER)
    _check_coordinate_budget(
        n, m, max_points, f"random_sphere_points({n}, {m})", "Ask for fewer points or a lower m."
    )
    generator = torch.Generator().manual_seed(check_seed(seed))
    points = torch.randn((n, m + 1), generator=generator, dtype=torch.float64)
    return points / torch.linalg.vector_norm(points, dim=-1, keepdim=True)


def nearest_point(
    queries: ArrayLike,
    points: ArrayLike,
    *,
    exclude: ArrayLike | None = None,
    block_elements: int = _BLOCK_ELEMENTS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query (Q, m+1), the geodesic distance (Q,) to the nearest of `points` (N, m+1)
    and its index (Q,). `exclude` (Q,) optionally names, per query, one index of `points` to
    skip (for the nearest *other* point of a set, pass the queries' own indices). Works in
    blocks, so N and Q can both be large.

    Used in: book/sphere_nets.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    q = as_sphere_points(queries, "queries", ndim=2)
    p = as_sphere_points(points, "points", ndim=2)
    if q.shape[1] != p.shape[1]:
        raise ValueError(
            f"queries and points must lie on the same sphere; their last dimensions are "
            f"{q.shape[1]} and {p.shape[1]}"
        )
    if p.shape[0] == 0 or (exclude is not None and p.shape[0] < 2):
        raise ValueError("points is empty (or has no point left after exclude)")
    skip = None
    if exclude is not None:
        skip = as_indices(exclude, "exclude", length=q.shape[0], upper=p.shape[0])
    block_elements = check_positive_int(block_elements, "block_elements")
    point_block = max(1, min(p.shape[0], block_elements // max(1, min(q.shape[0], 4096))))
    query_block = max(1, block_elements // point_block)
    best_dot = torch.full((q.shape[0],), -math.inf, dtype=torch.float64)
    best_index = torch.zeros(q.shape[0], dtype=torch.long)
    for start in range(0, p.shape[0], point_block):
        block = p[start : start + point_block]
        for q_start in range(0, q.shape[0], query_block):
            rows = slice(q_start, q_start + query_block)
            dots = q[rows] @ block.T
            if skip is not None:
                local = skip[rows] - start
                hit = (local >= 0) & (local < block.shape[0])
                dots[torch.nonzero(hit)[:, 0], local[hit]] = -math.inf
            value, index = dots.max(dim=1)
            better = value > best_dot[rows]
            best_dot[rows] = torch.where(better, value, best_dot[rows])
            best_index[rows] = torch.where(better, index + start, best_index[rows])
    return _angle(q, p[best_index]), best_index


def covering_radius(
    points: ArrayLike,
    *,
    samples: int = 100_000,
    seed: int = 0,
    extra: ArrayLike | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
) -> float:
    """Measured covering radius of `points` (N, m+1): the largest geodesic distance from a
    sample of S^m to its nearest point. The sample is `samples` uniform random points from
    `seed`, plus the optional points `extra` (K, m+1) where the farthest point is suspected.

    A sample can only miss the worst point, so this is a lower estimate of the true radius.

    Raises ValueError, before drawing the sample, when it would hold more than `max_points`
    points or 16 `max_points` numbers (a point of more than 16 coordinates counts as several;
    100,000 samples of S^3000 are 2.4 GB), or when comparing it with the points takes more
    than 10^11 multiply-adds (samples x N x (m+1), about a minute); fewer samples lower both.

    Used in: book/sphere_nets.ipynb.
    """
    p = as_float64(points, "points", ndim=2)
    samples = check_positive_int(samples, "samples")
    max_points = check_positive_int(max_points, "max_points")
    m = p.shape[1] - 1
    _check_point_budget(samples, max_points, f"covering_radius's sample of S^{m}", _FEWER_SAMPLES)
    _check_coordinate_budget(
        samples, m, max_points, f"covering_radius's sample of S^{m}", _FEWER_SAMPLES
    )
    work = samples * p.shape[0] * (m + 1)
    if work > _MAX_SAMPLE_WORK:
        raise ValueError(
            f"covering_radius: comparing {samples} samples with {p.shape[0]} points of S^{m} "
            f"takes about {work:.3g} multiply-adds, more than {_MAX_SAMPLE_WORK:.0e} (about a "
            f"minute). {_FEWER_SAMPLES}"
        )
    sample = random_sphere_points(samples, m, seed=seed, max_points=max_points) if m >= 1 else p
    if extra is not None:
        sample = torch.cat((sample, as_sphere_points(extra, "extra", ndim=2, last_dim=p.shape[1])))
    distance, _ = nearest_point(sample, p)
    return float(distance.max())


#: Largest samples x N x (m+1) that `covering_radius` computes (about a minute on a laptop).
_MAX_SAMPLE_WORK = 1e11

_FEWER_SAMPLES = (
    "Ask for fewer samples (the radius is measured less finely) or fewer points; raise "
    "max_points if the memory is there."
)

#: Default largest number of hull facets `deepest_hole` lets Qhull build (about 20 s).
DEFAULT_MAX_FACETS = 1_000_000


def _hull_facets_estimate(n_points: int, dim: int) -> float:
    """An estimate of the number of facets Qhull builds for n points in general position on
    the unit sphere of R^dim: about c_dim n for random points, with c_dim fitted to Qhull's
    counts (29 per point in R^5, 130 in R^6, 540 in R^7, 2500 in R^8: a factor e^1.5 per
    dimension), and never more than the upper bound theorem's count for a cyclic polytope,
    2 C(n - floor(dim/2) - 1, floor(dim/2)) (its largest case)."""
    per_point = max(2.0, 28.7 * math.exp(1.5 * (dim - 5)))
    half = dim // 2
    top = n_points - half - 1
    if top <= half:
        cyclic = math.inf if top < 0 else 2.0 * math.comb(max(top, 0), half) + 2.0 * dim
    else:
        log_cyclic = math.lgamma(top + 1) - math.lgamma(half + 1) - math.lgamma(top - half + 1)
        cyclic = 2.0 * math.exp(min(log_cyclic, 700.0))
    return min(per_point * n_points, cyclic)


def deepest_hole(
    points: ArrayLike, *, max_facets: int = DEFAULT_MAX_FACETS
) -> tuple[float, torch.Tensor]:
    """The exact covering radius of `points` (N, m+1) on S^m and a point where it is reached:
    the largest geodesic distance from a point of S^m to its nearest point of the set, and a
    deepest hole, shape (m+1,), at that distance.

    Computed from the convex hull of the points (`scipy.spatial.ConvexHull`, Qhull). When
    the origin lies inside the hull, write each facet's plane as <n, y> = b with n its unit
    outward normal: no point of the set is farther than b along n, so the cap of angular
    radius arccos b about n is empty, and the covering radius is the largest of these radii,
    reached at the normal of the facet nearest the origin (the lemma "Deepest holes and the
    convex hull" of the chapter on points on the sphere). The distance returned is measured
    from that normal to the set with `nearest_point`, which stays accurate for small radii
    where arccos b does not. Unlike `covering_radius`, which samples and can only miss the
    worst point, this is exact up to rounding.

    Raises ValueError for fewer than m + 2 points, for points that all lie in one
    hyperplane, and for points in a closed hemisphere (the origin is not inside their hull:
    the covering radius is then at least pi/2). Qhull's cost grows quickly with m: the
    39,304 points of a cubed-sphere net of S^3 take a few seconds. Before calling Qhull,
    estimates the number of facets of the hull (about 29 per point in R^5, growing by a
    factor e^1.5 per dimension: 500 random points of S^7 give 1.3 million, 23 s) and raises
    ValueError when the estimate passes `max_facets` (default 10^6, about 20 s).

    Used in: book/sphere_nets.ipynb.
    """
    p = as_sphere_points(points, "points", ndim=2)
    max_facets = check_positive_int(max_facets, "max_facets")
    n_points, dim = p.shape
    if n_points < dim + 1:
        raise ValueError(
            f"a point set of S^{dim - 1} needs at least {dim + 1} points to leave no open "
            f"hemisphere empty; got {n_points}"
        )
    facets = _hull_facets_estimate(n_points, dim)
    if facets > max_facets:
        raise ValueError(
            f"the convex hull of {n_points} points of S^{dim - 1} has an estimated "
            f"{facets:.3g} facets, more than max_facets = {max_facets:.3g} (Qhull builds about "
            "50,000 a second and its cost grows by a factor 4.5 per dimension): use fewer "
            "points or a lower dimension, covering_radius (a sampled lower estimate), or "
            "raise max_facets if the time is there"
        )
    try:
        hull = ConvexHull(p.numpy())
    except QhullError as err:
        raise ValueError(
            "Qhull could not build the convex hull of the points (they may all lie in one "
            f"hyperplane): {str(err).splitlines()[0]}"
        ) from err
    normals = torch.from_numpy(hull.equations[:, :-1].copy())
    offsets = torch.from_numpy(-hull.equations[:, -1].copy())
    if not float(offsets.min()) > 1e-12:
        raise ValueError(
            "the points lie in a closed hemisphere (the origin is not inside their convex "
            "hull), so the covering radius is at least pi/2; add points on the other side"
        )
    # The facet nearest the origin, and its ties up to rounding (symmetric point sets have
    # many): measure each candidate's distance and keep the largest.
    nearest = torch.nonzero(offsets <= offsets.min() + 1e-12)[:, 0]
    centres = normals[nearest] / torch.linalg.vector_norm(normals[nearest], dim=-1, keepdim=True)
    distance, _ = nearest_point(centres, p)
    best = int(distance.argmax())
    return float(distance[best]), centres[best]


@dataclass(frozen=True)
class SphereNet:
    """A point set on S^m with a certified radius.

    `points` has shape (N, m+1); every point of S^m is within geodesic distance `radius`
    (radians) of one of them, so `radius` bounds the covering radius from above.
    `cells_per_edge` is the grid resolution of a cubed-sphere net (0 for nets built another
    way).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    points: torch.Tensor
    radius: float
    m: int
    cells_per_edge: int = 0

    def __len__(self) -> int:
        return self.points.shape[0]


def _cubed_radius(m: int, cells: int) -> float:
    """Certified radius of the equiangular cubed-sphere net of S^m with `cells` cells per edge of
    each face: the largest distance from a point of a cell to that cell's centre. Every point
    of S^m lies in some cell, so this bounds the covering radius from above. It equals the
    covering radius when the worst cell's far corner is a deepest hole: on S^3 with an even
    number of cells per edge (checked from 2 to 16), where the worst cells are the central
    ones and their shared corner, the face centre, is a deepest hole. Elsewhere it
    overshoots, because the worst cell's far corner is nearer to a neighbouring cell's
    centre: on S^2 by 4% to 14% for 3 to 32 cells per edge. `deepest_hole` measures the
    true radius.

    On the face x_(m+1) = 1 a cell is a box in the gnomonic coordinates (tan a_1..tan a_m).
    The set of points within angle r < pi/2 of the cell's centre meets that plane in a convex
    set (a circular cone cut by a plane), so the farthest point of the box from its centre is
    one of its 2^m corners. The faces are congruent and each face is symmetric under sign
    changes of its coordinates, so the cells of one orthant of one face suffice. With one
    cell per edge the cell is the face and its farthest points are the cube's corners, at
    angle arctan(sqrt m) from the face centre (in closed form, for any m).
    """
    if cells == 1:
        return math.atan(math.sqrt(m))
    width = (math.pi / 2) / cells
    half = cells // 2  # cells with index >= half lie in the positive orthant (with the middle)
    per_axis = cells - half
    log2_checks = m * math.log2(2 * per_axis)  # (cell, corner) pairs: per_axis^m 2^m
    if log2_checks > math.log2(_MAX_RADIUS_CHECKS):
        raise ValueError(
            f"certifying the radius of the cubed-sphere net of S^{m} with {cells} cells per "
            f"edge examines about 2^{log2_checks:.1f} (cell, corner) pairs (more than "
            f"2^{math.log2(_MAX_RADIUS_CHECKS):.0f}): too slow. Nets of this size are beyond "
            "what the book's constructions can use."
        )
    edges = torch.arange(half, cells + 1, dtype=torch.float64) * width - math.pi / 4
    tan_lower, tan_upper = torch.tan(edges[:-1]), torch.tan(edges[1:])
    tan_centre = torch.tan((edges[:-1] + edges[1:]) / 2)
    ones = torch.ones(per_axis, dtype=torch.float64)
    # Corners in blocks, each a (cells of the first axis) x (corners) x (m+1) array.
    block = max(1, min(2**m, _RADIUS_BLOCK_ELEMENTS // (per_axis * (m + 1))))
    bit_values = 2 ** torch.arange(m, dtype=torch.long)
    worst = 0.0
    for index in itertools.product(range(per_axis), repeat=m - 1):
        # Vectorise over the first coordinate and over the corners, loop over the others.
        rest = list(index)
        centre_point = torch.cat(
            (tan_centre[:, None], tan_centre[rest].expand(per_axis, m - 1), ones[:, None]), 1
        )
        centre_point = centre_point / torch.linalg.vector_norm(centre_point, dim=-1, keepdim=True)
        for start in range(0, 2**m, block):
            bits = (torch.arange(start, min(start + block, 2**m))[:, None] & bit_values) > 0
            first = torch.where(bits[:, 0], tan_upper[:, None], tan_lower[:, None])
            others = torch.where(bits[:, 1:], tan_upper[rest], tan_lower[rest])
            count = bits.shape[0]
            vertex = torch.cat(
                (
                    first[:, :, None],
                    others.expand(per_axis, count, m - 1),
                    torch.ones((per_axis, count, 1), dtype=torch.float64),
                ),
                -1,
            )
            vertex = vertex / torch.linalg.vector_norm(vertex, dim=-1, keepdim=True)
            worst = max(worst, float(_angle(vertex, centre_point[:, None, :]).max()))
    return worst


#: Largest number of (cell, corner) pairs `_cubed_radius` examines (its cost: about a second
#: per 2^23 pairs).
_MAX_RADIUS_CHECKS = 2**25

#: Largest block (numbers) `_cubed_radius` forms at once.
_RADIUS_BLOCK_ELEMENTS = 2**22


def _radius_lower_bound(m: int, cells: int) -> float:
    """A proved lower bound on `_cubed_radius(m, cells)`: arctan(sqrt(m) tan(w/2)), w the cell
    width pi / (2 cells). With an odd number of cells per edge the middle cell is centred on
    the face centre, and its corner (tan(w/2), ..., tan(w/2), 1) is at that angle from it;
    with an even number the cell [0, w]^m has its centre at that angle from its corner, the
    face centre."""
    return math.atan(math.sqrt(m) * math.tan(math.pi / (4.0 * cells)))


def _fewest_cells(m: int, delta: float) -> float:
    """The fewest cells per edge whose `_radius_lower_bound` is at most `delta` (as a float,
    possibly huge or inf; 1 for delta >= pi/2, as the bound is below pi/2): no cubed-sphere
    net with fewer cells per edge has a certified radius <= delta."""
    if delta >= math.pi / 2:
        return 1.0
    exact = math.pi / (4.0 * math.atan(math.tan(delta) / math.sqrt(m)))
    # Rounding may put `exact` a hair above a whole number that is the answer: start lower.
    return max(1.0, float(math.ceil(exact * (1.0 - 1e-9)))) if exact < 1e300 else math.inf


def _log10_cubed_size(m: int, cells: float) -> float:
    """log10 of 2 (m+1) cells^m, for any m and any cells >= 1 (a float, perhaps inf)."""
    return math.log10(2 * (m + 1)) + m * math.log10(cells)


def cubed_sphere_size(m: int, cells_per_edge: int) -> int:
    """Number of points 2 (m+1) cells_per_edge^m of the cubed-sphere net, without building it.

    Raises ValueError, before computing it, when the count passes 10^4000 (MAX_COUNT_LOG10).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    m = check_positive_int(m, "m")
    cells = check_positive_int(cells_per_edge, "cells_per_edge")
    _check_count_log10(
        _log10_cubed_size(m, cells),
        f"the number of points 2 (m+1) cells_per_edge^m of the cubed-sphere net of S^{m} with "
        f"{cells} cells per edge",
        "Fewer cells per edge or a lower m lowers it.",
    )
    return 2 * (m + 1) * cells**m


def delta_net_size_bound(m: int, delta: float) -> int:
    """An upper bound on the number of points of `delta_net(m, delta)`, computed without
    building it: ceil(pi / delta) on S^1; on S^m, 2 (m+1) ceil(pi sqrt(2m) / (4 delta))^m,
    the count behind result C (with delta = eps / (4L)); 1 for delta >= pi.

    Raises ValueError, before computing it, when the bound passes 10^4000
    (MAX_COUNT_LOG10), or when ceil(pi sqrt(2m) / (4 delta)) is beyond a float.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    m = check_positive_int(m, "m")
    delta = check_positive_float(delta, "delta")
    if delta >= math.pi:
        return 1
    per_edge = math.pi / delta if m == 1 else math.pi * math.sqrt(2 * m) / (4 * delta)
    advice = "A larger delta (a larger eps, or a smaller Lipschitz constant) lowers it."
    if not per_edge < 1e300:
        raise ValueError(
            f"delta = {delta:g} is too small: a {delta:g}-net of S^{m} would need about "
            f"{_describe_count(per_edge)} points along each axis, beyond what a float holds. "
            f"{advice}"
        )
    if m == 1:
        return max(2, math.ceil(per_edge - 1e-12))
    cells = math.ceil(per_edge)
    _check_count_log10(
        _log10_cubed_size(m, cells),
        f"the bound on the size of a {delta:g}-net of S^{m}",
        advice,
    )
    return cubed_sphere_size(m, cells)


def _index_grid(values: torch.Tensor, m: int) -> torch.Tensor:
    """All m-tuples of `values` (n,), shape (n^m, m), in the order of torch.cartesian_prod
    (the first coordinate slowest), for any m (cartesian_prod takes seconds for m in the
    thousands even when n = 1)."""
    n = values.shape[0]
    if n == 1:
        return values.expand(1, m).clone()
    index = torch.arange(n**m, dtype=torch.long)[:, None]
    powers = torch.tensor([n ** (m - 1 - i) for i in range(m)], dtype=torch.long)
    return values[(index // powers) % n]


def cubed_sphere_net(
    m: int, cells_per_edge: int, *, max_points: int = DEFAULT_MAX_POINTS
) -> SphereNet:
    """The equiangular cubed-sphere net of S^m: the sphere is split into the 2(m+1) faces of the
    cube [-1, 1]^(m+1) projected radially, each face into `cells_per_edge`^m cells of equal
    angular width, and the net holds the cell centres: 2 (m+1) cells_per_edge^m points, with
    a certified radius (see `_cubed_radius`). Raises ValueError if that is more than
    `max_points` points, or if certifying the radius would take too long (high m).

    Also raises ValueError, before building anything, when the points hold more than
    16 `max_points` numbers (a point of more than 16 coordinates counts as several).

    Used in: book/sphere_nets.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    m = check_positive_int(m, "m")
    cells = check_positive_int(cells_per_edge, "cells_per_edge")
    max_points = check_positive_int(max_points, "max_points")
    what = f"the cubed-sphere net of S^{m} with {cells} cells per edge"
    advice = "Use fewer cells per edge, or raise max_points if the memory is there."
    # A float estimate first: the exact count of a net far past the budget takes seconds.
    _check_point_budget(_estimate(_log10_cubed_size(m, cells) - 1e-9), max_points, what, advice)
    size = cubed_sphere_size(m, cells)
    _check_point_budget(size, max_points, what, advice)
    _check_coordinate_budget(size, m, max_points, what, advice)
    radius = _cubed_radius(m, cells)
    width = (math.pi / 2) / cells
    centres = torch.tan(-math.pi / 4 + width * (torch.arange(cells, dtype=torch.float64) + 0.5))
    grid = _index_grid(centres, m)
    ones = torch.ones((grid.shape[0], 1), dtype=torch.float64)
    faces = []
    for axis in range(m + 1):
        for sign in (1.0, -1.0):
            face = torch.cat((grid[:, :axis], sign * ones, grid[:, axis:]), dim=1)
            faces.append(face)
    points = torch.cat(faces)
    points = points / torch.linalg.vector_norm(points, dim=-1, keepdim=True)
    return SphereNet(points=points, radius=radius, m=m, cells_per_edge=cells)


def cubed_sphere_corners(
    m: int, cells_per_edge: int, *, max_points: int = DEFAULT_MAX_POINTS
) -> torch.Tensor:
    """The corners of the cells of one face of the cubed-sphere net of S^m (see
    `cubed_sphere_net`), shape ((cells_per_edge + 1)^m, m+1): the points
    (tan a_1, ..., tan a_m, 1), normalised, with every a_i in [-pi/4, pi/4] a multiple of
    the cell width pi / (2 cells_per_edge) away from -pi/4.

    They are the candidate holes of the net: the face centre when `cells_per_edge` is even,
    the points on the cube's edges where faces meet, and the 2^m cube-corner directions
    (+-1, ..., +-1, 1) / sqrt(m+1). The net is unchanged by permutations and sign changes of
    the coordinates, which carry the face x_(m+1) = 1 onto every other face, so the corners
    of one face stand for all. Raises ValueError past `max_points` points (or 16 `max_points`
    coordinates), before computing the count when it is beyond a float.

    Used in: book/sphere_nets.ipynb.
    """
    m = check_positive_int(m, "m")
    cells = check_positive_int(cells_per_edge, "cells_per_edge")
    max_points = check_positive_int(max_points, "max_points")
    what = f"the cell corners of one face of the cubed-sphere net of S^{m}"
    advice = "Use fewer cells per edge, or raise max_points if the memory is there."
    log10_count = m * math.log10(cells + 1)
    count: float = (cells + 1) ** m if log10_count < 300 else _estimate(log10_count)
    _check_point_budget(count, max_points, what, advice)
    _check_coordinate_budget(count, m, max_points, what, advice)
    width = (math.pi / 2) / cells
    # Exact tangents at the ends and the middle: tan(+-pi/4) = +-1 and tan 0 = 0.
    index = torch.arange(cells + 1, dtype=torch.float64)
    edges = torch.tan(-math.pi / 4 + width * index)
    edges[0], edges[-1] = -1.0, 1.0
    if cells % 2 == 0:
        edges[cells // 2] = 0.0
    grid = _index_grid(edges, m)
    points = torch.cat((grid, torch.ones((grid.shape[0], 1), dtype=torch.float64)), dim=1)
    return points / torch.linalg.vector_norm(points, dim=-1, keepdim=True)


def delta_net(m: int, delta: float, *, max_points: int = DEFAULT_MAX_POINTS) -> SphereNet:
    """A δ-net of S^m: points such that every point of the sphere is within geodesic distance
    `delta` (radians) of one of them, with the certified radius (<= delta) it achieves.

    On S^1, ceil(pi / delta) equally spaced points (optimal). On S^m with m >= 2, the
    coarsest equiangular cubed-sphere net whose certified radius is <= delta. For
    delta >= pi a single point suffices. Raises ValueError, before building anything, when
    `delta_net_size_bound` exceeds `max_points`.

    The search starts at the fewest cells per edge that a proved lower bound on the
    certified radius allows (arctan(sqrt(m) tan(w/2)) for cells of width w) and refuses as
    soon as even that many points, or their coordinates (past 16 `max_points`), pass the
    budget; every larger resolution it tries is counted exactly first.

    Used in: book/course.ipynb, book/sphere_nets.ipynb, book/theorem1_density.ipynb.
    """
    m = check_positive_int(m, "m")
    delta = check_positive_float(delta, "delta")
    max_points = check_positive_int(max_points, "max_points")
    what = f"a {delta:.3g}-net of S^{m}"
    advice = (
        "A larger delta (a larger eps, or a smaller Lipschitz constant) lowers it; raise "
        "max_points if the memory is there."
    )
    if delta >= math.pi:
        _check_coordinate_budget(1, m, max_points, what, advice)
        north = torch.zeros((1, m + 1), dtype=torch.float64)
        north[0, -1] = 1.0
        return SphereNet(points=north, radius=math.pi, m=m)
    if m == 1:
        per_circle = math.pi / delta
        _check_point_budget(per_circle, max_points, what, advice)
        n = max(2, math.ceil(per_circle - 1e-12))
        return SphereNet(points=circle_points(n, max_points=max_points), radius=math.pi / n, m=1)
    # No resolution below `cells` can reach delta; refuse before any work if even it is too big.
    fewest = _fewest_cells(m, delta)
    estimate = _estimate(_log10_cubed_size(m, fewest))
    _check_point_budget(estimate, max_points, "even the coarsest candidate for " + what, advice)
    _check_coordinate_budget(estimate, m, max_points, what, advice)
    cells = int(fewest)
    while True:
        size = cubed_sphere_size(m, cells)
        _check_point_budget(size, max_points, what, advice)
        _check_coordinate_budget(size, m, max_points, what, advice)
        if _cubed_radius(m, cells) <= delta:
            break
        cells += 1
    return cubed_sphere_net(m, cells, max_points=max_points)


def _log_cap_fraction(m: int, radius: float) -> float:
    """The natural log of `cap_fraction(m, radius)` for 0 < radius <= pi, accurate where the
    fraction itself underflows: log(r / pi) on S^1, 2 log sin(r/2) on S^2, and otherwise
    scipy's betainc, or, below 1e-280, the continued fraction of I_x(a, b) in the log
    domain (x = sin^2 r, a = m/2, b = 1/2)."""
    if m == 1:
        return math.log(radius) - math.log(math.pi)
    if m == 2:
        return 2.0 * math.log(math.sin(radius / 2.0))
    if radius > math.pi / 2:
        return math.log1p(-0.5 * float(betainc(m / 2.0, 0.5, math.sin(math.pi - radius) ** 2)))
    value = 0.5 * float(betainc(m / 2.0, 0.5, math.sin(radius) ** 2))
    if value >= 1e-280:
        return math.log(value)
    a, b = m / 2.0, 0.5
    log_sin, log_cos = math.log(math.sin(radius)), math.log(math.cos(radius))
    log_front = 2.0 * a * log_sin + 2.0 * b * log_cos - math.log(a) - float(betaln(a, b))
    return math.log(0.5) + log_front + math.log(_beta_continued_fraction(a, b, math.sin(radius)))


def _beta_continued_fraction(a: float, b: float, sin_r: float) -> float:
    """The continued fraction of I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * cf, x = sin_r^2
    (modified Lentz; Numerical Recipes, betacf), which converges quickly for
    x < (a + 1) / (a + b + 2), where the fraction is small. Raises ValueError if it does not
    converge in 10^5 terms."""
    x = sin_r * sin_r
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for k in range(1, 100_001):
        k2 = 2 * k
        for aa in (
            k * (b - k) * x / ((qam + k2) * (a + k2)),
            -(a + k) * (qab + k) * x / ((a + k2) * (qap + k2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            return h
    raise ValueError(f"the cap fraction of S^{round(2 * a)} did not converge at x = {x:g}")


def cap_fraction(m: int, radius: float) -> float:
    """Fraction of the area of S^m within geodesic distance `radius` (radians) of a point:
    int_0^r sin^(m-1) t dt / int_0^pi sin^(m-1) t dt = I_(sin^2 r)(m/2, 1/2) / 2 for
    r <= pi/2, with I the regularised incomplete beta function (scipy.special.betainc,
    accurate for every m; a fixed quadrature rule misses the narrow peak of sin^(m-1) t
    once m is in the thousands). Equals r/pi on S^1, (1 - cos r)/2 on S^2.

    Computed as r/pi on S^1 and sin^2(r/2) on S^2 exactly, and from the logarithm where
    sin^2 r underflows (r below 1e-154) or the fraction falls below 1e-280, so it stays
    accurate down to the smallest float (and is 0 only below it).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    m = check_positive_int(m, "m")
    radius = min(check_positive_float(radius, "radius"), math.pi)
    return _cap_fraction(m, radius)


def _cap_fraction(m: int, radius: float) -> float:
    """`cap_fraction` for checked arguments, 0 < radius <= pi."""
    if m == 1:
        return radius / math.pi
    if m == 2:
        return math.sin(radius / 2.0) ** 2
    if radius > math.pi / 2:
        return 1.0 - 0.5 * float(betainc(m / 2.0, 0.5, math.sin(math.pi - radius) ** 2))
    value = 0.5 * float(betainc(m / 2.0, 0.5, math.sin(radius) ** 2))
    return value if value >= 1e-280 else math.exp(_log_cap_fraction(m, radius))


def _count_from_log_fraction(log_inverse: float, what: str, advice: str) -> int:
    """ceil(exp(log_inverse)) as a count that is a proved lower bound: less a relative margin
    for the rounding of the logarithm (1e-12 plus 1e-15 per unit of log), exact below 10^15.
    Raises ValueError past 10^4000 (MAX_COUNT_LOG10)."""
    _check_count_log10(log_inverse / math.log(10.0), what, advice)
    margin = 1e-12 + 1e-15 * abs(log_inverse)
    if log_inverse < 690.0:
        value = math.exp(log_inverse)
        return max(1, math.ceil(value - max(1e-9, margin * value)))
    return _int_from_log(log_inverse, margin)


def covering_number_lower_bound(m: int, delta: float) -> int:
    """Fewest points any delta-net of S^m can have, by the volume argument: the caps of radius
    `delta` around the net's points cover the sphere, so there are at least
    1 / cap_fraction(m, delta) of them.

    Raises TypeError or ValueError, naming `m` or `delta`, for a dimension that is not an
    integer >= 1 or a radius that is not a finite number > 0, and ValueError when the bound
    passes 10^4000 (MAX_COUNT_LOG10); up to there it is an exact int computed from the
    logarithm of the cap fraction, less a relative margin of 1e-12 for rounding.

    Used in: book/course.ipynb, book/sphere_nets.ipynb.
    """
    m = check_positive_int(m, "m")
    delta = check_positive_float(delta, "delta")
    radius = min(delta, math.pi)
    fraction = _cap_fraction(m, radius)
    if fraction > 1e-290:
        return max(1, math.ceil(1.0 / fraction - max(1e-9, 1e-12 / fraction)))
    return _count_from_log_fraction(
        -_log_cap_fraction(m, radius),
        f"the covering number of S^{m} at delta = {delta:g} (a cap of that radius covers "
        "less than a 10^4000th of the sphere)",
        "Use a larger delta or a smaller m.",
    )
