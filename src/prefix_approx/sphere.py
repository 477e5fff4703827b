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
from scipy.special import betainc

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


def _check_point_budget(count: int, max_points: int, what: str, advice: str) -> None:
    if count > max_points:
        raise ValueError(
            f"{what} would have about {count:.3g} points, more than max_points = "
            f"{max_points:.3g} ({count * 8 / 2**30:.3g} GiB per coordinate). {advice}"
        )


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

    Used in: book/corollary2_elementwise.ipynb, book/course.ipynb, book/lemma3_core_head.ipynb,
    book/theorem1_density.ipynb, book/theorem4_jackson_bounds.ipynb.
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

    Used in: book/corollary2_elementwise.ipynb, book/lemma3_core_head.ipynb,
    book/sphere_nets.ipynb, book/spherical_designs.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    n = check_positive_int(n, "n", minimum=0)
    m = check_positive_int(m, "m")
    _check_point_budget(
        n, check_positive_int(max_points, "max_points"), "random_sphere_points", _FEWER
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
    points: ArrayLike, *, samples: int = 100_000, seed: int = 0, extra: ArrayLike | None = None
) -> float:
    """Measured covering radius of `points` (N, m+1): the largest geodesic distance from a
    sample of S^m to its nearest point. The sample is `samples` uniform random points from
    `seed`, plus the optional points `extra` (K, m+1) where the farthest point is suspected.

    A sample can only miss the worst point, so this is a lower estimate of the true radius.

    Used in: book/sphere_nets.ipynb.
    """
    p = as_float64(points, "points", ndim=2)
    samples = check_positive_int(samples, "samples")
    sample = random_sphere_points(samples, p.shape[1] - 1, seed=seed) if p.shape[1] >= 2 else p
    if extra is not None:
        sample = torch.cat((sample, as_sphere_points(extra, "extra", ndim=2, last_dim=p.shape[1])))
    distance, _ = nearest_point(sample, p)
    return float(distance.max())


def deepest_hole(points: ArrayLike) -> tuple[float, torch.Tensor]:
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
    39,304 points of a cubed-sphere net of S^3 take a few seconds.

    Used in: book/sphere_nets.ipynb.
    """
    p = as_sphere_points(points, "points", ndim=2)
    n_points, dim = p.shape
    if n_points < dim + 1:
        raise ValueError(
            f"a point set of S^{dim - 1} needs at least {dim + 1} points to leave no open "
            f"hemisphere empty; got {n_points}"
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
    changes of its coordinates, so the cells of one orthant of one face suffice.
    """
    width = (math.pi / 2) / cells
    half = cells // 2  # cells with index >= half lie in the positive orthant (with the middle)
    checks = (cells - half) ** (m - 1) * 2**m
    if checks > _MAX_RADIUS_CHECKS:
        raise ValueError(
            f"certifying the radius of the cubed-sphere net of S^{m} with {cells} cells per "
            f"edge examines {checks:.3g} cell corners (more than {_MAX_RADIUS_CHECKS}): too "
            "slow. Nets of this size are beyond what the book's constructions can use."
        )
    edges = torch.arange(half, cells + 1, dtype=torch.float64) * width - math.pi / 4
    lower, upper = edges[:-1], edges[1:]
    centre = (lower + upper) / 2
    worst = 0.0
    corners = list(itertools.product((0, 1), repeat=m))
    for index in itertools.product(range(len(centre)), repeat=max(0, m - 1)):
        # Vectorise over the first coordinate, loop over the others.
        c = [centre] + [centre[i].expand_as(centre) for i in index]
        centre_point = torch.stack([torch.tan(a) for a in c] + [torch.ones_like(centre)], -1)
        centre_point = centre_point / torch.linalg.vector_norm(centre_point, dim=-1, keepdim=True)
        for corner in corners:
            coords = [
                (upper if corner[0] else lower),
                *[
                    (upper[i] if bit else lower[i]).expand_as(centre)
                    for i, bit in zip(index, corner[1:], strict=True)
                ],
            ]
            vertex = torch.stack([torch.tan(a) for a in coords] + [torch.ones_like(centre)], -1)
            vertex = vertex / torch.linalg.vector_norm(vertex, dim=-1, keepdim=True)
            worst = max(worst, float(_angle(vertex, centre_point).max()))
    return worst


#: Largest number of (cell, corner) pairs `_cubed_radius` examines (its cost).
_MAX_RADIUS_CHECKS = 2**21


def cubed_sphere_size(m: int, cells_per_edge: int) -> int:
    """Number of points 2 (m+1) cells_per_edge^m of the cubed-sphere net, without building it.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    m = check_positive_int(m, "m")
    cells = check_positive_int(cells_per_edge, "cells_per_edge")
    return 2 * (m + 1) * cells**m


def delta_net_size_bound(m: int, delta: float) -> int:
    """An upper bound on the number of points of `delta_net(m, delta)`, computed without
    building it: ceil(pi / delta) on S^1; on S^m, 2 (m+1) ceil(pi sqrt(2m) / (4 delta))^m,
    the count behind result C (with delta = eps / (4L)); 1 for delta >= pi.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    m = check_positive_int(m, "m")
    delta = check_positive_float(delta, "delta")
    if delta >= math.pi:
        return 1
    if m == 1:
        return max(2, math.ceil(math.pi / delta - 1e-12))
    return cubed_sphere_size(m, math.ceil(math.pi * math.sqrt(2 * m) / (4 * delta)))


def cubed_sphere_net(
    m: int, cells_per_edge: int, *, max_points: int = DEFAULT_MAX_POINTS
) -> SphereNet:
    """The equiangular cubed-sphere net of S^m: the sphere is split into the 2(m+1) faces of the
    cube [-1, 1]^(m+1) projected radially, each face into `cells_per_edge`^m cells of equal
    angular width, and the net holds the cell centres: 2 (m+1) cells_per_edge^m points, with
    a certified radius (see `_cubed_radius`). Raises ValueError if that is more than
    `max_points` points, or if certifying the radius would take too long (high m).

    Used in: book/sphere_nets.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    m = check_positive_int(m, "m")
    cells = check_positive_int(cells_per_edge, "cells_per_edge")
    max_points = check_positive_int(max_points, "max_points")
    _check_point_budget(
        cubed_sphere_size(m, cells),
        max_points,
        f"the cubed-sphere net of S^{m} with {cells} cells per edge",
        "Use fewer cells per edge, or raise max_points if the memory is there.",
    )
    width = (math.pi / 2) / cells
    centres = torch.tan(-math.pi / 4 + width * (torch.arange(cells, dtype=torch.float64) + 0.5))
    grid = torch.cartesian_prod(*([centres] * m)).reshape(-1, m)
    ones = torch.ones((grid.shape[0], 1), dtype=torch.float64)
    faces = []
    for axis in range(m + 1):
        for sign in (1.0, -1.0):
            face = torch.cat((grid[:, :axis], sign * ones, grid[:, axis:]), dim=1)
            faces.append(face)
    points = torch.cat(faces)
    points = points / torch.linalg.vector_norm(points, dim=-1, keepdim=True)
    return SphereNet(points=points, radius=_cubed_radius(m, cells), m=m, cells_per_edge=cells)


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
    of one face stand for all. Raises ValueError past `max_points` points.

    Used in: book/sphere_nets.ipynb.
    """
    m = check_positive_int(m, "m")
    cells = check_positive_int(cells_per_edge, "cells_per_edge")
    _check_point_budget(
        (cells + 1) ** m,
        check_positive_int(max_points, "max_points"),
        f"the cell corners of one face of the cubed-sphere net of S^{m}",
        "Use fewer cells per edge, or raise max_points if the memory is there.",
    )
    width = (math.pi / 2) / cells
    # Exact tangents at the ends and the middle: tan(+-pi/4) = +-1 and tan 0 = 0.
    index = torch.arange(cells + 1, dtype=torch.float64)
    edges = torch.tan(-math.pi / 4 + width * index)
    edges[0], edges[-1] = -1.0, 1.0
    if cells % 2 == 0:
        edges[cells // 2] = 0.0
    grid = torch.cartesian_prod(*([edges] * m)).reshape(-1, m)
    points = torch.cat((grid, torch.ones((grid.shape[0], 1), dtype=torch.float64)), dim=1)
    return points / torch.linalg.vector_norm(points, dim=-1, keepdim=True)


def delta_net(m: int, delta: float, *, max_points: int = DEFAULT_MAX_POINTS) -> SphereNet:
    """A δ-net of S^m: points such that every point of the sphere is within geodesic distance
    `delta` (radians) of one of them, with the certified radius (<= delta) it achieves.

    On S^1, ceil(pi / delta) equally spaced points (optimal). On S^m with m >= 2, the
    coarsest equiangular cubed-sphere net whose certified radius is <= delta. For
    delta >= pi a single point suffices. Raises ValueError, before building anything, when
    `delta_net_size_bound` exceeds `max_points`.

    Used in: book/course.ipynb, book/sphere_nets.ipynb, book/theorem1_density.ipynb.
    """
    m = check_positive_int(m, "m")
    delta = check_positive_float(delta, "delta")
    max_points = check_positive_int(max_points, "max_points")
    # Refuse before any work when even the walk's starting resolution (below) is too big;
    # the exact count is checked again once the resolution is known.
    start = 1 if m == 1 else math.ceil(math.pi * math.sqrt(m) / (4 * delta))
    estimate = delta_net_size_bound(1, delta) if m == 1 else cubed_sphere_size(m, start)
    _check_point_budget(
        1 if delta >= math.pi else estimate,
        max_points,
        f"a {delta:.3g}-net of S^{m}",
        "A larger delta (a larger eps, or a smaller Lipschitz constant) lowers it; raise "
        "max_points if the memory is there.",
    )
    if delta >= math.pi:
        north = torch.zeros((1, m + 1), dtype=torch.float64)
        north[0, -1] = 1.0
        return SphereNet(points=north, radius=math.pi, m=m)
    if m == 1:
        n = max(2, math.ceil(math.pi / delta - 1e-12))
        return SphereNet(points=circle_points(n), radius=math.pi / n, m=1)
    # Near the face centres a cell of angular width w is a cube of half-diagonal ~ w sqrt(m)/2;
    # start there and walk to the coarsest resolution whose certified radius is <= delta.
    cells = max(1, start)
    while _cubed_radius(m, cells) > delta:
        cells += 1
    while cells > 1 and _cubed_radius(m, cells - 1) <= delta:
        cells -= 1
    return cubed_sphere_net(m, cells, max_points=max_points)


def cap_fraction(m: int, radius: float) -> float:
    """Fraction of the area of S^m within geodesic distance `radius` (radians) of a point:
    int_0^r sin^(m-1) t dt / int_0^pi sin^(m-1) t dt = I_(sin^2 r)(m/2, 1/2) / 2 for
    r <= pi/2, with I the regularised incomplete beta function (scipy.special.betainc,
    accurate for every m; a fixed quadrature rule misses the narrow peak of sin^(m-1) t
    once m is in the thousands). Equals r/pi on S^1, (1 - cos r)/2 on S^2.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    m = check_positive_int(m, "m")
    radius = min(check_positive_float(radius, "radius"), math.pi)

    def small_cap(r: float) -> float:  # r <= pi/2
        return 0.5 * float(betainc(m / 2.0, 0.5, math.sin(r) ** 2))

    if radius <= math.pi / 2:
        return small_cap(radius)
    return 1.0 - small_cap(math.pi - radius)  # accurate near r = pi


def covering_number_lower_bound(m: int, delta: float) -> int:
    """Fewest points any delta-net of S^m can have, by the volume argument: the caps of radius
    `delta` around the net's points cover the sphere, so there are at least
    1 / cap_fraction(m, delta) of them.

    Raises TypeError or ValueError, naming `m` or `delta`, for a dimension that is not an
    integer >= 1 or a radius that is not a finite number > 0, and ValueError when the cap is
    too small for its area to be a float (the bound would exceed about 10^308).

    Used in: book/course.ipynb, book/sphere_nets.ipynb.
    """
    m = check_positive_int(m, "m")
    delta = check_positive_float(delta, "delta")
    fraction = cap_fraction(m, delta)
    if not fraction > 0.0 or 1.0 / fraction == math.inf:
        raise ValueError(
            f"a cap of radius delta = {delta:g} on S^{m} covers less than 1e-308 of the sphere: "
            "the covering number exceeds what a float can hold; use a larger delta or smaller m"
        )
    return max(1, math.ceil(1.0 / fraction - 1e-9))
