"""Tests of prefix_approx.sphere: point sets, geodesic distance, delta-nets, covering radii."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prefix_approx import (
    SphereNet,
    cap_fraction,
    circle_points,
    covering_number_lower_bound,
    covering_radius,
    cubed_sphere_corners,
    cubed_sphere_net,
    deepest_hole,
    delta_net,
    fibonacci_sphere,
    geodesic_distance,
    nearest_point,
    random_sphere_points,
)


def on_sphere(points: torch.Tensor) -> bool:
    return bool(torch.allclose(points.norm(dim=-1), torch.ones(len(points), dtype=torch.float64)))


# ------------------------------------------------------------------ point sets
def test_circle_points_are_equally_spaced() -> None:
    pts = circle_points(8, offset=0.3)
    assert pts.shape == (8, 2) and pts.dtype == torch.float64 and on_sphere(pts)
    gaps = geodesic_distance(pts, pts.roll(-1, dims=0))
    assert torch.allclose(gaps, torch.full((8,), math.pi / 4, dtype=torch.float64), atol=1e-14)
    assert torch.allclose(
        pts[0], torch.tensor([math.cos(0.3), math.sin(0.3)], dtype=torch.float64), atol=1e-15
    )


def test_fibonacci_sphere_is_balanced() -> None:
    pts = fibonacci_sphere(2000)
    assert pts.shape == (2000, 3) and on_sphere(pts)
    assert pts.mean(dim=0).norm().item() < 1e-3
    # Equal areas: the fraction of points above height z is (1 - z) / 2.
    assert (pts[:, 2] > 0.5).double().mean().item() == pytest.approx(0.25, abs=1e-3)
    assert nearest_point(pts[:1], pts[1:])[0].item() > 0.02  # no two points collide


@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_random_sphere_points_are_uniform_and_seeded(m: int) -> None:
    pts = random_sphere_points(20_000, m, seed=3)
    assert pts.shape == (20_000, m + 1) and on_sphere(pts)
    assert torch.equal(pts, random_sphere_points(20_000, m, seed=3))
    assert not torch.equal(pts, random_sphere_points(20_000, m, seed=4))
    assert pts.mean(dim=0).abs().max().item() < 0.03
    # E[x_i^2] = 1 / (m + 1) for the uniform distribution.
    assert torch.allclose(
        pts.pow(2).mean(0), torch.full((m + 1,), 1 / (m + 1), dtype=torch.float64), atol=0.02
    )
    assert random_sphere_points(0, m, seed=0).shape == (0, m + 1)


# ------------------------------------------------------------ geodesic distance
@settings(max_examples=50, deadline=None)
@given(m=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_geodesic_distance_is_a_metric(m: int, seed: int) -> None:
    x, y, z = random_sphere_points(3, m, seed=seed)
    d = geodesic_distance
    assert d(x, x).item() == 0.0
    assert d(x, y).item() == pytest.approx(d(y, x).item(), abs=1e-15)
    assert d(x, z).item() <= d(x, y).item() + d(y, z).item() + 1e-14
    assert d(x, -x).item() == pytest.approx(math.pi, abs=1e-15)
    assert d(x, y).item() == pytest.approx(math.acos(float(x @ y)), abs=1e-9)


def test_geodesic_distance_is_accurate_for_close_points() -> None:
    x = torch.tensor([1.0, 0.0], dtype=torch.float64)
    y = torch.tensor([math.cos(1e-10), math.sin(1e-10)], dtype=torch.float64)
    assert geodesic_distance(x, y).item() == pytest.approx(1e-10, rel=1e-6)


def test_geodesic_distance_broadcasts_pairwise() -> None:
    a = circle_points(4)
    b = circle_points(3)
    d = geodesic_distance(a[:, None], b[None])
    assert d.shape == (4, 3)
    assert d[0, 0].item() == 0.0 and d[2, 0].item() == pytest.approx(math.pi)


# ---------------------------------------------------------------- delta-nets
@pytest.mark.parametrize("delta", [2.0, 0.5, 0.1, 0.013])
def test_delta_net_on_the_circle_is_optimal(delta: float) -> None:
    net = delta_net(1, delta)
    assert isinstance(net, SphereNet) and net.m == 1
    assert net.radius <= delta
    # N equally spaced points cover at radius pi/N, and N - 1 points could not reach delta.
    assert len(net) == max(2, math.ceil(math.pi / delta))
    assert covering_radius(net.points, samples=20_000, seed=0) <= net.radius + 1e-12
    assert net.radius == pytest.approx(math.pi / len(net))


@pytest.mark.parametrize(("m", "cells"), [(2, 1), (2, 4), (2, 7), (3, 3), (4, 2)])
def test_cubed_net_certified_radius_is_a_tight_upper_bound(m: int, cells: int) -> None:
    """No sample is farther than the certified radius, and the exact deepest hole comes
    close to it (within 13% for these nets; on S^3 with an even K the two are equal)."""
    net = cubed_sphere_net(m, cells)
    assert len(net) == 2 * (m + 1) * cells**m and on_sphere(net.points)
    assert net.cells_per_edge == cells
    measured = covering_radius(net.points, samples=50_000, seed=1)
    deepest, _ = deepest_hole(net.points)
    assert measured <= deepest + 1e-12
    assert deepest <= net.radius + 1e-12
    assert deepest >= 0.87 * net.radius


@pytest.mark.parametrize(("m", "cells"), [(2, 2), (2, 5), (2, 8), (3, 2), (3, 3), (3, 4)])
def test_cubed_net_deepest_hole_is_at_the_face_centre_for_even_cells(m: int, cells: int) -> None:
    """The cell corners of one face hold the cube-corner directions and, for even K, the face
    centre, which is then a deepest hole at distance arctan(sqrt(m) tan(w/2)), w = pi/(2K):
    no corner is deeper than the exact hole, and on S^3 with K even the certificate is
    tight."""
    net = cubed_sphere_net(m, cells)
    corners = cubed_sphere_corners(m, cells)
    assert corners.shape == ((cells + 1) ** m, m + 1) and on_sphere(corners)
    cube_corner = torch.ones(m + 1, dtype=torch.float64) / math.sqrt(m + 1)
    assert (corners - cube_corner).abs().sum(dim=1).min().item() < 1e-15
    deepest, hole = deepest_hole(net.points)
    assert abs(nearest_point(hole[None], net.points)[0].item() - deepest) < 1e-15
    corner_depth = nearest_point(corners, net.points)[0]
    assert corner_depth.max().item() <= deepest + 1e-12
    if cells % 2 == 0:
        face_centre = torch.zeros((1, m + 1), dtype=torch.float64)
        face_centre[0, -1] = 1.0
        assert (corners - face_centre).abs().sum(dim=1).min().item() == 0.0
        expected = math.atan(math.sqrt(m) * math.tan(math.pi / (4 * cells)))
        assert nearest_point(face_centre, net.points)[0].item() == pytest.approx(
            expected, abs=1e-14
        )
        assert deepest == pytest.approx(expected, abs=1e-12)
        if m == 3:
            assert deepest == pytest.approx(net.radius, abs=1e-12)


def test_deepest_hole_of_regular_point_sets() -> None:
    """Equally spaced points on the circle: pi/n. The octahedron (+-e_i) and the cube
    (+-1, +-1, +-1)/sqrt 3 on S^2: arccos(1/sqrt 3), at a cube-corner direction and at an
    axis direction respectively."""
    for n in (3, 7, 100):
        radius, hole = deepest_hole(circle_points(n, offset=0.2))
        assert radius == pytest.approx(math.pi / n, abs=1e-14)
        assert nearest_point(hole[None], circle_points(n, offset=0.2))[0].item() == radius
    octahedron = torch.cat((torch.eye(3), -torch.eye(3))).double()
    radius, hole = deepest_hole(octahedron)
    assert radius == pytest.approx(math.acos(1 / math.sqrt(3)), abs=1e-14)
    assert torch.allclose(hole.abs(), torch.full((3,), 1 / math.sqrt(3)).double(), atol=1e-14)
    signs = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=3)), dtype=torch.float64)
    radius, hole = deepest_hole(signs / math.sqrt(3))
    assert radius == pytest.approx(math.acos(1 / math.sqrt(3)), abs=1e-14)
    assert sorted(hole.abs().tolist()) == pytest.approx([0.0, 0.0, 1.0], abs=1e-14)


@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 3), n=st.integers(60, 400), seed=st.integers(0, 10_000))
def test_deepest_hole_is_exact_for_random_points(m: int, n: int, seed: int) -> None:
    """No sampled point is farther from the set than the deepest hole, and moving the hole a
    little in any direction brings it nearer to the set (it is a local maximum)."""
    points = random_sphere_points(n, m, seed=seed)
    radius, hole = deepest_hole(points)
    assert covering_radius(points, samples=20_000, seed=seed + 1) <= radius + 1e-12
    steps = random_sphere_points(200, m, seed=seed + 2)
    moved = hole + 1e-3 * (steps - (steps @ hole)[:, None] * hole)
    moved = moved / torch.linalg.vector_norm(moved, dim=-1, keepdim=True)
    assert nearest_point(moved, points)[0].max().item() <= radius + 1e-12


def test_deepest_hole_refuses_sets_that_leave_a_hemisphere_empty() -> None:
    upper = random_sphere_points(50, 2, seed=4)
    upper[:, 2] = upper[:, 2].abs()
    with pytest.raises(ValueError, match="closed hemisphere"):
        deepest_hole(upper)
    with pytest.raises(ValueError, match="at least 4 points"):
        deepest_hole(fibonacci_sphere(3))
    equator = torch.cat((circle_points(6), torch.zeros(6, 1, dtype=torch.float64)), dim=1)
    with pytest.raises(ValueError, match="one hyperplane"):
        deepest_hole(equator)
    with pytest.raises(ValueError, match="max_points"):
        cubed_sphere_corners(3, 20, max_points=1000)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 3), delta=st.floats(0.08, 1.5), seed=st.integers(0, 10_000))
def test_delta_net_covers_every_sampled_point(m: int, delta: float, seed: int) -> None:
    net = delta_net(m, delta)
    assert net.radius <= delta
    distance, index = nearest_point(random_sphere_points(4000, m, seed=seed), net.points)
    assert distance.max().item() <= delta
    assert index.min().item() >= 0 and index.max().item() < len(net)


def test_delta_net_is_coarsest_cubed_net() -> None:
    net = delta_net(2, 0.2)
    coarser = cubed_sphere_net(2, net.cells_per_edge - 1)
    assert net.radius <= 0.2 < coarser.radius


def test_delta_net_of_huge_radius_is_one_point() -> None:
    net = delta_net(3, 4.0)
    assert len(net) == 1 and net.radius == math.pi


# ------------------------------------------------------- nearest and covering
def test_nearest_point_matches_brute_force() -> None:
    q = random_sphere_points(300, 2, seed=1)
    p = random_sphere_points(500, 2, seed=2)
    distance, index = nearest_point(q, p, block_elements=1000)
    brute = geodesic_distance(q[:, None], p[None])
    assert torch.equal(index, brute.argmin(dim=1))
    assert torch.allclose(distance, brute.min(dim=1).values, atol=1e-15)


def test_covering_radius_of_circle_points() -> None:
    measured = covering_radius(circle_points(10), samples=100_000, seed=0)
    assert math.pi / 10 * 0.999 <= measured <= math.pi / 10


# -------------------------------------------------------------------- bad input
def test_points_off_the_sphere_are_rejected() -> None:
    with pytest.raises(ValueError, match="must lie on the unit sphere"):
        geodesic_distance(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="must lie on the unit sphere"):
        nearest_point(2 * circle_points(3), circle_points(4))
    with pytest.raises(ValueError, match="last dimension must be at least 2"):
        geodesic_distance(torch.ones(3, 1), torch.ones(3, 1))


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="same sphere"):
        geodesic_distance(circle_points(2), fibonacci_sphere(2))
    with pytest.raises(ValueError, match="do not broadcast"):
        geodesic_distance(circle_points(2), circle_points(3))
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        circle_points(0)
    with pytest.raises(TypeError, match="n must be an integer"):
        fibonacci_sphere(3.0)
    with pytest.raises(ValueError, match="m must be an integer >= 1"):
        random_sphere_points(3, 0, seed=1)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        random_sphere_points(3, 2, seed=-1)
    with pytest.raises(ValueError, match="delta must be a finite number > 0"):
        delta_net(2, 0.0)
    with pytest.raises(ValueError, match="delta must be a finite number > 0"):
        delta_net(2, float("nan"))
    with pytest.raises(TypeError, match="delta must be a real number"):
        delta_net(2, "0.1")
    with pytest.raises(ValueError, match="cells_per_edge"):
        cubed_sphere_net(2, 0)
    with pytest.raises(ValueError, match="points is empty"):
        nearest_point(circle_points(2), torch.zeros(0, 2))
    with pytest.raises(ValueError, match="same sphere"):
        nearest_point(circle_points(2), fibonacci_sphere(3))
    with pytest.raises(ValueError, match="must be finite"):
        nearest_point(np.array([[np.nan, 1.0]]), circle_points(3))
    with pytest.raises(ValueError, match="last dimension 2"):
        covering_radius(circle_points(3), samples=10, extra=fibonacci_sphere(2))


# ------------------------------------------------------- caps and covering numbers
@pytest.mark.parametrize("radius", [1e-3, 0.3, 1.0, math.pi / 2, 2.5, math.pi])
def test_cap_fraction_closed_forms(radius: float) -> None:
    assert cap_fraction(1, radius) == pytest.approx(radius / math.pi, rel=1e-13)
    assert cap_fraction(2, radius) == pytest.approx((1 - math.cos(radius)) / 2, rel=1e-12)
    # S^3: (2r - sin 2r) / (2 pi)
    expected = (2 * radius - math.sin(2 * radius)) / (2 * math.pi)
    assert cap_fraction(3, radius) == pytest.approx(expected, rel=1e-9, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 8), r=st.floats(1e-3, math.pi))
def test_cap_fraction_is_a_fraction_and_complements(m: int, r: float) -> None:
    f = cap_fraction(m, r)
    assert 0 < f <= 1
    if r < math.pi:  # the cap and the complementary cap around the antipode tile the sphere
        assert f + cap_fraction(m, math.pi - r) == pytest.approx(1.0, abs=1e-12)


def test_cap_fraction_matches_sampling() -> None:
    points = random_sphere_points(200_000, 4, seed=9)
    north = torch.zeros(5, dtype=torch.float64)
    north[-1] = 1.0
    inside = (geodesic_distance(points, north) <= 0.8).double().mean().item()
    assert inside == pytest.approx(cap_fraction(4, 0.8), abs=3e-3)


@pytest.mark.parametrize(("m", "delta"), [(1, 0.1), (2, 0.2), (3, 0.3)])
def test_covering_number_lower_bound_is_below_every_net(m: int, delta: float) -> None:
    bound = covering_number_lower_bound(m, delta)
    assert 1 <= bound <= len(delta_net(m, delta))
    if m == 1:  # on the circle the bound is attained
        assert bound == len(delta_net(1, delta)) == math.ceil(math.pi / delta)


def test_cap_and_bound_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="radius must be a finite number > 0"):
        cap_fraction(2, -1.0)
    with pytest.raises(ValueError, match="m must be an integer >= 1"):
        covering_number_lower_bound(0, 0.1)
