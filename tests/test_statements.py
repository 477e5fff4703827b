"""Tests of two statements of the book that no other test covered: the query-norm lemma of the
sequence-to-sequence chapter and the proposition that no prefix of the core head serves every
sequence length (the element-wise chapter). The results map names them."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from prefix_approx import (
    CoreHead,
    build_prefix,
    circle_points,
    core_prefix,
    geodesic_distance,
    random_sphere_points,
    sup_error,
)


@pytest.mark.parametrize("m", [1, 2])
def test_queries_of_norm_at_least_one_keep_the_density_guarantee(m: int) -> None:
    """Lemma (queries of norm at least one): a query rho u with rho >= 1 scores
    lam rho <u, c_j> against the prefix and 0 against the inputs, so the head behaves as the
    same prefix at scale lam rho; the guarantee of the density proof still holds."""
    pole = random_sphere_points(1, m, seed=3)[0]

    def f(x: torch.Tensor) -> torch.Tensor:
        return (geodesic_distance(x, pole.expand_as(x)) - math.pi / 2)[:, None]

    prefix = build_prefix(f, m=m, eps=0.4, bound=math.pi / 2, max_len=3, lipschitz=1.0)
    guaranteed = prefix.guaranteed
    assert guaranteed is not None and guaranteed <= 0.4
    x = random_sphere_points(600, m, seed=5).reshape(200, 3, m + 1)
    points, values = prefix.control_points, prefix.values
    for rho in (1.0, 1.5, 4.0, 25.0):
        scaled = core_prefix(points, values, prefix.lam * rho)
        assert sup_error(f, scaled, x) <= guaranteed, rho
    # The equivalence itself, at a small scale where the input token's weight shows: the
    # token rho u (query and input, key 0, value 0) against the prefix at scale lam gives
    # the output of the token u against the same points and values at scale lam rho.
    head = CoreHead(m, 1)
    lam, rho = 1.5, 2.5
    u = random_sphere_points(7, m, seed=9)
    token = torch.zeros((7, 1, head.d_model), dtype=torch.float64)
    token[:, 0, : m + 1] = rho * u
    direct = head.head.dense(token, core_prefix(points, values, lam).tokens, token)[:, 0]
    scaled = head(u[:, None], core_prefix(points, values, lam * rho))[:, 0]
    assert torch.allclose(direct, scaled, atol=1e-12)


def test_no_prefix_serves_every_length() -> None:
    """Proposition (no prefix serves every length): H_T(x) = sum_j w_j v_j / (sum_j w_j + T)
    tends to 0 like 1/T, so a target with f(x) != 0 is missed on long sequences."""
    points = circle_points(8)
    values = torch.ones((8, 1), dtype=torch.float64)
    prefix = core_prefix(points, values, 2.0)
    head = CoreHead(1, 1)
    x = circle_points(1, offset=0.3)[0]
    weights = torch.exp(2.0 * (points @ x))
    outputs = []
    for length in (1, 10, 100, 1000):
        out = head(x.expand(1, length, 2), prefix)[0, :, 0]
        expected = float(weights.sum() / (weights.sum() + length))
        assert torch.allclose(out, torch.full_like(out, expected), atol=1e-12)
        outputs.append(expected)
    assert all(a > b for a, b in itertools.pairwise(outputs))
    # f = 1 everywhere; at T = 1000 the error is already above 1/2 and tends to 1.
    assert 1 - outputs[-1] > 0.5
