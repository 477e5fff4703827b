"""Tests of the lower bounds on the prefix length (prefix_approx.lower_bounds)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import prefix_approx as pa


def test_packing_on_the_circle_is_pi_over_twice_the_radius() -> None:
    # On S^1 a cap of radius 2r is an arc of length 4r: 1 / cap_fraction = pi / (2r).
    assert pa.packing_number_lower_bound(1, 0.1) == math.ceil(math.pi / 0.2)
    # and that many caps fit: equally spaced centres 2r apart hold floor(pi / r) of them
    assert math.floor(math.pi / 0.1) >= pa.packing_number_lower_bound(1, 0.1)
    assert pa.packing_number_lower_bound(2, 4.0) == 1


@pytest.mark.parametrize("radius", [0.3, 0.15])
def test_that_many_disjoint_caps_fit_on_s2(radius: float) -> None:
    """A greedy packing from a dense Fibonacci set reaches the certified count."""
    candidates = pa.fibonacci_sphere(20000)
    chosen = candidates[:1]
    threshold = math.cos(2 * radius)  # centres 2r apart: <c, c'> <= cos 2r
    for point in candidates[1:]:
        if float((chosen @ point).max()) <= threshold:
            chosen = torch.cat((chosen, point[None]))
    assert len(chosen) >= pa.packing_number_lower_bound(2, radius)


@given(
    m=st.integers(min_value=1, max_value=4),
    eps=st.floats(min_value=1e-3, max_value=0.9),
    lipschitz=st.floats(min_value=0.2, max_value=5.0),
)
@settings(max_examples=80, deadline=None)
def test_result_c_never_beats_the_lower_bound(m: int, eps: float, lipschitz: float) -> None:
    """build_prefix is a continuous prefix rule (tokens [0; lam c_j; f(c_j)], D = 2(m+1) + 1),
    so its token count can never fall below the lower bound: a test that fails if either
    bound is wrong by more than their true gap."""
    token_dim = 2 * (m + 1) + 1
    upper = pa.lipschitz_prefix_length_bound(m, eps=eps, lipschitz=lipschitz)
    lower = pa.continuous_prefix_length_lower_bound(
        m, eps=eps, lipschitz=lipschitz, bound=1.0, token_dim=token_dim
    )
    assert 1 <= lower <= upper


@pytest.mark.parametrize("m", [1, 2, 3])
def test_the_lower_bound_grows_like_eps_to_minus_m(m: int) -> None:
    args = {"lipschitz": 1.0, "bound": 1.0, "token_dim": 2 * (m + 1) + 1}
    small = pa.continuous_prefix_length_lower_bound(m, eps=1e-3, **args)
    smaller = pa.continuous_prefix_length_lower_bound(m, eps=5e-4, **args)
    assert smaller / small == pytest.approx(2.0**m, rel=0.01)


def test_lower_bound_refuses_what_it_cannot_bound() -> None:
    with pytest.raises(ValueError, match="eps < bound"):
        pa.continuous_prefix_length_lower_bound(2, eps=1.0, lipschitz=1.0, bound=1.0, token_dim=7)
    with pytest.raises(ValueError, match="token_dim"):
        pa.continuous_prefix_length_lower_bound(2, eps=0.1, lipschitz=1.0, bound=1.0, token_dim=0)
    with pytest.raises(ValueError, match=r"more than 10\^4000"):
        pa.continuous_prefix_length_lower_bound(
            900, eps=1e-6, lipschitz=1.0, bound=1.0, token_dim=7
        )
    with pytest.raises(ValueError, match="radius"):
        pa.packing_number_lower_bound(2, -1.0)


@given(
    n_inputs=st.integers(min_value=1, max_value=2000),
    seed=st.integers(min_value=0, max_value=2**16),
)
@settings(max_examples=40, deadline=None)
def test_prefix_weight_bound_holds_for_a_random_head(n_inputs: int, seed: int) -> None:
    """For any head, rho_T <= Z_P / (Z_P + T e^(-kappa)) when every input score is >= -kappa."""
    head = pa.AttentionHead.random(4, 3, 2, seed=seed)
    generator = torch.Generator().manual_seed(seed + 1)
    query = torch.randn((1, 4), generator=generator, dtype=torch.float64)
    prefix = torch.randn((5, 4), generator=generator, dtype=torch.float64)
    inputs = torch.randn((n_inputs, 4), generator=generator, dtype=torch.float64)
    parts = head.decompose(query, prefix, inputs)
    log_z_prefix = head.attend(query, prefix).log_normaliser.item()
    scores = (query @ head.w_query.T) @ (inputs @ head.w_key.T).T
    bound = pa.prefix_weight_upper_bound(log_z_prefix, n_inputs, scores.min().item())
    assert parts.rho.item() <= bound * (1 + 1e-12)


def test_prefix_weight_bound_tends_to_zero_and_handles_huge_logs() -> None:
    shares = [pa.prefix_weight_upper_bound(3.0, 10**k, -2.0) for k in range(0, 13, 3)]
    assert all(a > b for a, b in itertools.pairwise(shares)) and shares[-1] < 1e-6
    assert pa.prefix_weight_upper_bound(1e300, 10, 0.0) == 1.0
    assert pa.prefix_weight_upper_bound(-1e300, 10, 0.0) == 0.0
    with pytest.raises(ValueError, match="log_prefix_normaliser"):
        pa.prefix_weight_upper_bound(float("nan"), 10, 0.0)
    with pytest.raises(ValueError, match="n_inputs"):
        pa.prefix_weight_upper_bound(0.0, 0, 0.0)


def test_the_cube_bound_counts_disjoint_cubes() -> None:
    # L / (2 eps) = 10: cubes of half-width just over 0.05 fit 9 to an axis
    args = {"eps": 0.05, "lipschitz": 1.0, "bound": 1.0}
    assert pa.continuous_prefix_size_lower_bound_on_cube(2, **args) == 81
    assert pa.continuous_prefix_size_lower_bound_on_cube(3, **args) == 729
    assert pa.continuous_prefix_size_lower_bound_on_cube(2, eps=0.3, lipschitz=1.0, bound=1.0) == 1
    with pytest.raises(ValueError, match="eps < bound"):
        pa.continuous_prefix_size_lower_bound_on_cube(2, eps=2.0, lipschitz=1.0, bound=1.0)
    with pytest.raises(ValueError, match="too large"):
        pa.continuous_prefix_size_lower_bound_on_cube(500, eps=1e-3, lipschitz=1.0, bound=1.0)


@given(
    n=st.integers(min_value=1, max_value=4),
    eps=st.floats(min_value=1e-3, max_value=0.2),
)
@settings(max_examples=50, deadline=None)
def test_the_cube_bound_grows_like_eps_to_minus_n(n: int, eps: float) -> None:
    """Halving eps multiplies the bound by about 2^n, and the bound stays below the gather
    route's grid count, a continuous rule with one token per grid point."""
    args = {"lipschitz": 1.0, "bound": 1.0}
    low = pa.continuous_prefix_size_lower_bound_on_cube(n, eps=eps, **args)
    lower_half = pa.continuous_prefix_size_lower_bound_on_cube(n, eps=eps / 2, **args)
    assert lower_half >= low
    per_axis = math.ceil(1 / (2 * eps)) - 1
    if per_axis >= 20:
        assert lower_half / low == pytest.approx(2.0**n, rel=0.35)
    assert low <= math.ceil(1 / eps) ** n
