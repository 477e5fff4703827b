"""Regression tests for the sphere, bounds, paper-route and lower-bound faults of the
newcomer review (silent wrong answers, runaways and unclear errors), each against mpmath
where a value is due."""

from __future__ import annotations

import math
import time

import mpmath
import pytest
import torch

import prefix_approx as pa
from prefix_approx.sphere import DEFAULT_MAX_POINTS


def _mp_cap(m: int, radius: float) -> mpmath.mpf:
    with mpmath.workdps(60):
        r = mpmath.mpf(radius)
        return mpmath.betainc(mpmath.mpf(m) / 2, 0.5, 0, mpmath.sin(r) ** 2, regularized=True) / 2


def _mp_one_minus_mean_cosine(m: int, lam: float) -> mpmath.mpf:
    nu = mpmath.mpf(m - 1) / 2
    return 1 - mpmath.besseli(nu + 1, lam) / mpmath.besseli(nu, lam)


def _mp_amos(m: int, lam: float) -> mpmath.mpf:
    c = mpmath.mpf(m + 1) / 2
    lam = mpmath.mpf(lam)
    s = mpmath.sqrt(lam**2 + c**2)
    return (c + c**2 / (s + lam)) / (c + s)  # = 1 - lam / (c + s), without cancellation


# 1. vmf_mean_distance_bound: 0 from lam = 2e16 on, 2.22 from 1.3e154 on.
@pytest.mark.parametrize("lam", [1e3, 1e8, 1e12, 2e16, 1e17, 1e100, 1.3e154, 1e200, 1e308])
@pytest.mark.parametrize("m", [1, 2, 5])
def test_vmf_mean_distance_bound_is_an_upper_bound_for_every_lam(m: int, lam: float) -> None:
    got = pa.vmf_mean_distance_bound(m, lam)
    with mpmath.workdps(60):
        if lam <= 1e8:
            exact = _mp_one_minus_mean_cosine(m, lam)
        else:  # 1 - A_m = m / (2 lam) (1 + O(1/lam)): Amos's (m+1)/(2 lam) is above it
            exact = mpmath.mpf(m) / (2 * mpmath.mpf(lam))
        truth = mpmath.pi * mpmath.sqrt(exact / 2)
        assert got >= truth  # the bound holds
        if lam >= 1e12:  # and is Amos's, computed to rounding
            amos = mpmath.pi * mpmath.sqrt(_mp_amos(m, lam) / 2)
            assert abs(got / amos - 1) <= 1e-13
    assert math.isfinite(got) and got > 0


def test_vmf_mean_distance_bound_warns_no_overflow() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pa.vmf_mean_distance_bound(2, 1e300) < 1e-140


# 2. cap_fraction(1, 1e-200) was 0; covering_number_lower_bound(1, 1e-160) too large.
@pytest.mark.parametrize(
    ("m", "radius"),
    [(1, 1e-200), (1, 5e-324), (2, 1e-200), (3, 1e-160), (3, 1e-300), (50, 1e-6), (1000, 0.1)],
)
def test_cap_fraction_of_small_caps(m: int, radius: float) -> None:
    exact = _mp_cap(m, radius)
    got = pa.cap_fraction(m, radius)
    if exact < mpmath.mpf("2.3e-308"):
        assert got == 0.0 or abs(got - float(exact)) <= 5e-324
    else:
        assert abs(mpmath.mpf(got) / exact - 1) <= 1e-12


def test_cap_fraction_on_the_circle_is_r_over_pi() -> None:
    for r in (1e-200, 1e-5, 1.0, 3.0):
        assert pa.cap_fraction(1, r) == r / math.pi


@pytest.mark.parametrize(
    ("m", "delta"), [(1, 1e-160), (1, 5e-324), (2, 1e-300), (1000, 0.1), (1000, 1e-3)]
)
def test_covering_number_lower_bound_stays_a_lower_bound(m: int, delta: float) -> None:
    got = pa.covering_number_lower_bound(m, delta)
    with mpmath.workdps(80):
        exact = int(mpmath.ceil(1 / _mp_cap(m, delta)))
    assert isinstance(got, int)
    assert got <= exact  # a lower bound
    assert exact - got <= max(1, exact // 10**11)


def test_packing_and_continuous_lower_bounds_of_small_caps() -> None:
    with mpmath.workdps(80):
        exact = int(mpmath.ceil(1 / _mp_cap(1, 2e-300)))
    got = pa.packing_number_lower_bound(1, 1e-300)
    assert got <= exact and exact - got <= exact // 10**11
    # eps / L = 1e-309 on S^1: 2 eps / L is r, fraction r / pi, count pi / (2 D eps / L)
    got = pa.continuous_prefix_length_lower_bound(
        1, eps=0.1, lipschitz=1e308, bound=1.0, token_dim=7
    )
    with mpmath.workdps(80):
        exact = int(mpmath.ceil(mpmath.pi / (7 * 2 * mpmath.mpf(0.1) / mpmath.mpf(1e308))))
    assert got <= exact and exact - got <= exact // 10**11
    with pytest.raises(ValueError, match=r"10\^4000"):
        pa.covering_number_lower_bound(10**6, 1.0)


# 3. lipschitz_delta: 0 for (0.1, 1e308) and (5e-324, 1); eps keyword-only.
def test_lipschitz_delta_is_right_or_refused_at_the_extremes() -> None:
    assert pa.lipschitz_delta(eps=0.1, lipschitz=1e308) == pytest.approx(2.5e-310, rel=1e-12)
    with pytest.raises(ValueError, match=r"eps = .* and lipschitz = "):
        pa.lipschitz_delta(eps=5e-324, lipschitz=1.0)
    with pytest.raises(ValueError, match="larger eps"):
        pa.lipschitz_delta(eps=1e-300, lipschitz=1e20)


def test_eps_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        pa.lipschitz_delta(0.1, 1.0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        pa.modulus_delta(0.1, lambda t: t)  # type: ignore[misc]
    assert pa.modulus_delta(lambda t: t, eps=0.1) == pytest.approx(0.025, rel=1e-11)


def test_lipschitz_parameters_name_eps_and_lipschitz_when_lam_overflows() -> None:
    with pytest.raises(ValueError, match=r"eps = 1e-300 with lipschitz = 1 .*larger eps"):
        pa.lipschitz_parameters(
            eps=1e-300, lipschitz=1.0, bound=1.0, n_points=10, radius=1e-301, max_len=2
        )
    with pytest.raises(ValueError, match="lipschitz = 1e\\+308"):
        pa.lipschitz_parameters(
            eps=0.1, lipschitz=1e308, bound=1.0, n_points=10, radius=1e-310, max_len=2
        )


# 4. Runaways.
def _fast(call, limit: float = 5.0):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = call()
    assert time.perf_counter() - start < limit
    return result


def test_delta_net_of_a_coarse_radius_in_high_dimension_is_fast() -> None:
    """delta_net(11, 1.3, max_points=1e7) ran for minutes; at the default budget it was refused
    with a false estimate of 4.25 million points. The answer has 24."""
    for max_points in (10**7, DEFAULT_MAX_POINTS):
        net = _fast(lambda max_points=max_points: pa.delta_net(11, 1.3, max_points=max_points))
        assert len(net) == 24 and net.radius == pytest.approx(math.atan(math.sqrt(11)))
        assert net.radius <= 1.3
    net = _fast(lambda: pa.delta_net(1000, 3.0))  # was an OverflowError
    assert len(net) == 2002 and net.radius <= 3.0
    distance, _ = pa.nearest_point(pa.random_sphere_points(200, 1000, seed=0), net.points)
    assert float(distance.max()) <= net.radius


@pytest.mark.parametrize(
    "call",
    [
        lambda: pa.delta_net(10**8, 4.0),
        lambda: pa.delta_net_size_bound(10**7, 0.1),
        lambda: pa.lipschitz_prefix_length_bound(10**6, eps=1e-3, lipschitz=1.0),
        lambda: pa.cubed_sphere_size(10**6, 10**6),
        lambda: pa.random_sphere_points(10, 10**8, seed=0),
        lambda: pa.covering_radius(pa.circle_points(4), samples=10**9),
        lambda: pa.deepest_hole(pa.random_sphere_points(1000, 8, seed=0)),
        lambda: pa.delta_net(2, 5e-324),
        lambda: pa.cubed_sphere_corners(10**6, 1),
    ],
)
def test_runaways_are_refused_at_once_with_a_size(call) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"\d") as info:
        call()
    assert time.perf_counter() - start < 2.0
    assert "digits" not in str(info.value)  # not Python's int-to-str limit


def test_covering_radius_in_high_dimension_is_refused_before_allocating() -> None:
    points = pa.random_sphere_points(10, 3000, seed=0)
    with pytest.raises(ValueError, match="samples"):
        _fast(lambda: pa.covering_radius(points), 2.0)
    assert 0 < pa.covering_radius(points, samples=1000) <= math.pi


def test_counts_below_the_limit_are_exact() -> None:
    assert pa.cubed_sphere_size(100, 10) == 2 * 101 * 10**100
    m, delta = 100, 0.5
    cells = math.ceil(math.pi * math.sqrt(2 * m) / (4 * delta))
    assert pa.delta_net_size_bound(m, delta) == 2 * (m + 1) * cells**m


# 5. Unclear errors made clear, and overflow handled.
def test_density_parameters_at_a_vanishing_radius_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="delta = 1e-300 and radius = 1e-300"):
        pa.density_parameters(
            eps=0.1, near_error=0.0, delta=1e-300, bound=1.0, n_points=100, radius=1e-300, max_len=4
        )


def test_density_parameters_with_a_huge_bound_is_exact() -> None:
    """bound = 1e308 overflowed 8 B N / eps and was refused with 'lam must be finite'."""
    p = pa.density_parameters(
        eps=0.1, near_error=0.0, delta=0.1, bound=1e308, n_points=100, radius=0.1, max_len=4
    )
    with mpmath.workdps(50):
        b, n, t, eps = mpmath.mpf(1e308), 100, 4, mpmath.mpf(0.1)
        r, s = mpmath.mpf(0.1), mpmath.mpf(0.2)
        lam = mpmath.log(8 * b * n / eps) / (mpmath.cos(r) - mpmath.cos(s))
        assert abs(p.lam / lam - 1) < 1e-12
        bound = 2 * b * n * mpmath.exp(
            -p.lam * (mpmath.cos(r) - mpmath.cos(s))
        ) + b * t * mpmath.exp(-p.lam * mpmath.cos(r))
        assert abs(p.guaranteed / bound - 1) < 1e-9
    assert p.guaranteed <= 0.1


def test_paper_route_parameters_with_a_huge_bound() -> None:
    """bound = 1e308 was a numpy 'Maximum allowed size exceeded'."""
    p = pa.paper_route_parameters(1, eps=0.5, lipschitz=1.0, bound=1e308, max_len=2)
    again = pa.paper_route_error_bound(
        1,
        lam=p.lam,
        radius=p.radius,
        measure_ratio=p.measure_ratio,
        lipschitz=1.0,
        bound=1e308,
        max_len=2,
    )
    assert again == p.guaranteed <= 0.5


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (lambda: pa.delta_net(2, 5e-324), ("delta",)),
        (
            lambda: pa.continuous_prefix_size_lower_bound_on_cube(
                2, eps=0.1, lipschitz=1e308, bound=1.0
            ),
            ("lipschitz", "eps"),
        ),
        (
            lambda: pa.continuous_prefix_size_lower_bound_on_cube(
                2, eps=5e-324, lipschitz=1.0, bound=1.0
            ),
            ("lipschitz", "eps"),
        ),
        (
            lambda: pa.build_prefix(
                lambda x: x[:, :1], m=1, eps=5e-324, bound=1.0, max_len=2, lipschitz=1.0
            ),
            ("eps", "lipschitz"),
        ),
    ],
)
def test_extreme_arguments_are_named(call, names: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as info:
        call()
    assert all(name in str(info.value) for name in names)


def test_cubed_sphere_net_radius_in_closed_form_for_one_cell() -> None:
    for m in (2, 3, 30, 500):
        net = pa.cubed_sphere_net(m, 1)
        assert net.radius == math.atan(math.sqrt(m))
        corner = torch.full((1, m + 1), 1.0, dtype=torch.float64) / math.sqrt(m + 1)
        distance, _ = pa.nearest_point(corner, net.points)
        assert float(distance[0]) == pytest.approx(net.radius, rel=1e-12)
