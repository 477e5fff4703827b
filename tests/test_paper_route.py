"""The paper's route (vMF smoothing, then a partition of S^m) run through the core head:
src/prefix_approx/paper_route.py and the theorem of book/theorem1_density.ipynb."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import ive

from prefix_approx import (
    CoreHead,
    PaperRouteParameters,
    cell_measure_ratio_bound,
    circle_points,
    cubed_sphere_net,
    geodesic_distance,
    paper_route_error_bound,
    paper_route_parameters,
    paper_route_prefix,
    random_sphere_points,
    sup_error,
    vmf_mean_distance_bound,
)


def kink_target(m: int, seed: int, scale: float):
    """scale * (d(x, p) - pi/2): Lipschitz constant scale, bound scale * pi / 2."""
    pole = random_sphere_points(1, m, seed=seed)[0]

    def f(x: torch.Tensor) -> torch.Tensor:
        return scale * (geodesic_distance(x, pole.expand_as(x)) - math.pi / 2)[:, None]

    return f, pole, scale, scale * math.pi / 2


@settings(max_examples=12, deadline=None)
@given(
    m=st.sampled_from([1, 2]),
    ratio=st.floats(0.3, 1.0),
    max_len=st.integers(1, 4),
    seed=st.integers(0, 1000),
)
def test_paper_route_measured_error_never_exceeds_guarantee(m, ratio, max_len, seed) -> None:
    # ratio = L / eps: up to 3 on S^1 (at most ~8000 tokens), up to 0.6 on S^2 (~70,000).
    lipschitz = 1.0
    eps = lipschitz / (3 * ratio if m == 1 else 0.6 * ratio)
    f, pole, lipschitz, bound = kink_target(m, seed, lipschitz)
    prefix = paper_route_prefix(f, m=m, eps=eps, lipschitz=lipschitz, bound=bound, max_len=max_len)
    params = prefix.parameters
    assert isinstance(params, PaperRouteParameters)
    assert params.guaranteed <= eps
    assert len(prefix) == params.n_points
    n_seq = max(1, 400 // max_len)
    x = random_sphere_points(n_seq * max_len, m, seed=seed + 3)
    x = torch.cat([pole[None], -pole[None], x])[: n_seq * max_len]
    x = x.reshape(n_seq, max_len, m + 1)
    assert sup_error(f, prefix, x) <= params.guaranteed


def test_discretised_mean_distance_obeys_the_lemma() -> None:
    # The heart of the proof: with one token per cell and no cell measures, the softmax
    # weights' mean distance to x is at most rho e^(2 lam h) (E_m(lam) + h).
    for m, cells, lam in [(1, 64, 30.0), (1, 200, 200.0), (2, 12, 8.0), (2, 30, 40.0)]:
        if m == 1:
            centres, radius = circle_points(cells), math.pi / cells
        else:
            net = cubed_sphere_net(m, cells)
            centres, radius = net.points, net.radius
        x = random_sphere_points(500, m, seed=cells)
        weights = torch.softmax(lam * x @ centres.T, dim=1)
        mean_distance = (weights * geodesic_distance(x[:, None], centres[None])).sum(1)
        rho = cell_measure_ratio_bound(m)
        allowed = rho * math.exp(2 * lam * radius) * (vmf_mean_distance_bound(m, lam) + radius)
        assert float(mean_distance.max()) <= allowed


@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_vmf_mean_distance_bound_is_above_the_true_mean(m) -> None:
    for lam in (0.0, 0.5, 3.0, 30.0, 300.0, 3000.0):

        def weight(t: float, lam: float = lam) -> float:
            return math.exp(lam * (math.cos(t) - 1)) * math.sin(t) ** (m - 1)

        split = [min(3 / math.sqrt(lam), 1.0)] if lam > 0 else None
        top = quad(lambda t: t * weight(t), 0, math.pi, points=split)[0]
        mean = top / quad(weight, 0, math.pi, points=split)[0]
        bound = vmf_mean_distance_bound(m, lam)
        assert mean <= bound <= 2.2 * mean + 1e-12
    # Amos's bound, which caps the computed ratio, holds against scipy.
    nu = (m - 1) / 2
    lam = np.geomspace(1e-3, 1e8, 200)
    ratio = ive(nu + 1, lam) / ive(nu, lam)
    assert np.all(ratio >= lam / (nu + 1 + np.sqrt(lam**2 + (nu + 1) ** 2)) * (1 - 1e-12))


def _gnomonic_area(x1: np.ndarray, x2: np.ndarray, y1: np.ndarray, y2: np.ndarray):
    """Exact area on S^2 of the radial projection of [x1, x2] x [y1, y2] on the plane z = 1."""

    def corner(x, y):
        return np.arctan(x * y / np.sqrt(1 + x * x + y * y))

    return corner(x2, y2) - corner(x1, y2) - corner(x2, y1) + corner(x1, y1)


def test_cell_measure_ratio_bound_holds_for_cubed_cells_of_s2() -> None:
    rho = cell_measure_ratio_bound(2)
    assert cell_measure_ratio_bound(1) == 1.0
    assert 1.41 < rho < 1.43
    for cells in (1, 2, 5, 17, 64):
        edges = np.tan(-math.pi / 4 + (math.pi / 2) * np.arange(cells + 1) / cells)
        x1, y1 = np.meshgrid(edges[:-1], edges[:-1])
        x2, y2 = np.meshgrid(edges[1:], edges[1:])
        areas = _gnomonic_area(x1, x2, y1, y2)
        assert math.isclose(6 * areas.sum(), 4 * math.pi, rel_tol=1e-12)
        assert areas.max() / areas.min() <= rho


def test_parameters_match_the_built_prefix_and_refuse_past_max_tokens() -> None:
    f, _, lipschitz, bound = kink_target(2, seed=1, scale=1.0)
    params = paper_route_parameters(2, eps=1.4, lipschitz=lipschitz, bound=bound, max_len=1)
    assert params.n_points == 2 * 3 * params.cells_per_edge**2
    assert params.guaranteed <= 1.4
    with pytest.raises(ValueError, match=r"needs about 5\.08e\+04 prefix tokens"):
        paper_route_prefix(f, m=2, eps=1.4, lipschitz=lipschitz, bound=bound, max_len=1,
                           max_tokens=10_000)  # fmt: skip
    # Smaller eps needs more tokens; the count follows eps^(-2m) roughly.
    sizes = [
        paper_route_parameters(1, eps=e, lipschitz=1.0, bound=1.0, max_len=1).n_points
        for e in (0.4, 0.2, 0.1, 0.05)
    ]
    assert sizes == sorted(sizes)
    slopes = [math.log2(b / a) for a, b in itertools.pairwise(sizes)]
    assert all(1.7 < s < 2.2 for s in slopes)


def test_error_bound_formula_and_its_validation() -> None:
    value = paper_route_error_bound(
        1, lam=10.0, radius=0.01, measure_ratio=1.0, lipschitz=1.0, bound=1.0, max_len=2
    )
    expected = math.exp(0.2) * (vmf_mean_distance_bound(1, 10.0) + 0.01)
    expected += 2 * math.exp(-10 * math.cos(0.01))
    assert math.isclose(value, expected, rel_tol=1e-12)
    common = {"lam": 1.0, "radius": 0.1, "measure_ratio": 1.0, "lipschitz": 1.0}
    with pytest.raises(ValueError, match="measure_ratio"):
        paper_route_error_bound(1, **{**common, "measure_ratio": 0.5}, bound=1.0, max_len=1)
    with pytest.raises(ValueError, match="radius"):
        paper_route_error_bound(1, **{**common, "radius": 4.0}, bound=1.0, max_len=1)
    with pytest.raises((TypeError, ValueError), match="m"):
        paper_route_error_bound(0, **common, bound=1.0, max_len=1)


def test_paper_route_prefix_validates_its_arguments() -> None:
    f, _, lipschitz, bound = kink_target(1, seed=2, scale=1.0)
    good = {"m": 1, "eps": 0.4, "lipschitz": lipschitz, "bound": bound, "max_len": 1}
    with pytest.raises(TypeError, match="f must be a function"):
        paper_route_prefix("not a function", **good)
    for name, bad in [("eps", -1.0), ("lipschitz", -1.0), ("bound", 0.0), ("max_len", 0)]:
        with pytest.raises((TypeError, ValueError), match=name):
            paper_route_prefix(f, **{**good, name: bad})
    with pytest.raises(TypeError, match="m"):
        paper_route_prefix(f, **{**good, "m": 1.5})
    with pytest.raises(ValueError, match="above the stated bound"):
        paper_route_prefix(f, **{**good, "bound": 1.0})
    with pytest.raises(ValueError, match=r"not 0\.5-Lipschitz"):
        paper_route_prefix(f, **{**good, "lipschitz": 0.5})
    # A prefix is guaranteed only up to its max_len.
    prefix = paper_route_prefix(f, **good)
    with pytest.raises(ValueError, match="max_len"):
        CoreHead(1, 1)(random_sphere_points(2, 1, seed=0)[None], prefix)
