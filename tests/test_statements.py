"""Tests of statements of the book that no other test covered: how prompting, soft prompting
and prefix-tuning compare (the first chapter), the query-norm lemma of the
sequence-to-sequence chapter and the proposition that no prefix of the core head serves every
sequence length (the element-wise chapter). The results map names them."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prefix_approx import (
    AttentionHead,
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


# ------------------------------------------- prompting, soft prompting, prefix-tuning
Layer = tuple[AttentionHead, torch.Tensor]


def run_layers(
    layers: list[Layer], tokens: torch.Tensor, prefixes: list[torch.Tensor | None], causal: bool
) -> torch.Tensor:
    """Residual attention layers h <- h + H(h; [prefix, h]) W_O^T, one prefix per layer."""
    h = tokens
    for (head, w_out), prefix in zip(layers, prefixes, strict=True):
        h = h + head(h, prefix, h, causal=causal) @ w_out.T
    return h


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_soft_prompt_of_a_causal_model_is_a_prefix_of_every_layer(n_layers: int) -> None:
    """Proposition (prompting, soft prompting, prefix-tuning), item 2: under a causal mask the
    prompt's hidden states S^(l) do not depend on the inputs, and prefixes P^(l) = S^(l)
    reproduce the soft prompt; with one layer the mask is not needed."""
    g = torch.Generator().manual_seed(n_layers)
    d = 7
    layers = [
        (
            AttentionHead.random(d, 5, 4, seed=10 * n_layers + i, scale=1.2),
            torch.randn((d, 4), generator=g, dtype=torch.float64),
        )
        for i in range(n_layers)
    ]
    soft = torch.randn((4, d), generator=g, dtype=torch.float64)
    x = torch.randn((3, 6, d), generator=g, dtype=torch.float64)
    states, prefixes = soft, []
    for head, w_out in layers:
        prefixes.append(states)
        states = states + head(states, None, states, causal=True) @ w_out.T
    tokens = torch.cat((soft.expand(3, 4, d), x), dim=1)
    for causal in (True, False):
        prompted = run_layers(layers, tokens, [None] * n_layers, causal)[:, 4:]
        prefixed = run_layers(layers, x, prefixes, causal)
        gap = (prompted - prefixed).abs().max().item()
        if causal or n_layers == 1:
            assert gap < 1e-12, (causal, n_layers, gap)
        else:
            assert gap > 1e-3, (causal, n_layers, gap)


def _counterexample() -> list[Layer]:
    """The two-layer model of the proof, tokens (x, z, y): layer 1 averages x into z with the
    query z, layer 2 averages z into y with the query 0."""
    e = torch.eye(3, dtype=torch.float64)
    return [
        (AttentionHead(e[1:2], e[0:1], e[0:1]), e[:, 1:2]),
        (AttentionHead(0 * e[0:1], e[0:1], e[1:2]), e[:, 2:3]),
    ]


@settings(max_examples=30, deadline=None)
@given(n_1=st.integers(0, 6), n_2=st.integers(0, 6), seed=st.integers(0, 10_000))
def test_no_prefix_reproduces_a_soft_prompt_without_a_causal_mask(
    n_1: int, n_2: int, seed: int
) -> None:
    """Item 2's counterexample: with any prefixes (empty ones too) the output is affine in x,
    y = (b + (a + x)/(N_1 + 1))/(N_2 + 1); the soft prompt (0, 1, 0) without a mask gives
    (1 + x sigma(x) + x/2)/2, which is not affine, and with a mask (1 + x/2)/2."""
    layers = _counterexample()
    xs = torch.linspace(-3.0, 3.0, 31, dtype=torch.float64)
    inputs = torch.zeros((31, 1, 3), dtype=torch.float64)
    inputs[:, 0, 0] = xs
    g = torch.Generator().manual_seed(seed)
    p_1 = 4 * torch.randn((n_1, 3), generator=g, dtype=torch.float64)
    p_2 = 4 * torch.randn((n_2, 3), generator=g, dtype=torch.float64)
    y = run_layers(layers, inputs, [p_1, p_2], causal=False)[:, 0, 2]
    a, b = p_1[:, 0].sum(), p_2[:, 1].sum()
    assert torch.allclose(y, (b + (a + xs) / (n_1 + 1)) / (n_2 + 1), atol=1e-13)
    s = torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64)
    with_prompt = torch.cat((s.expand(31, 1, 3), inputs), dim=1)
    soft = run_layers(layers, with_prompt, [None, None], causal=False)[:, 1, 2]
    assert torch.allclose(soft, (1 + xs * torch.sigmoid(xs) + xs / 2) / 2, atol=1e-14)
    bend = soft[2:] - 2 * soft[1:-1] + soft[:-2]
    assert bend.abs().max().item() > 0.2 * 0.2**2  # y''(0) = 1/4, step 0.2
    causal = run_layers(layers, with_prompt, [None, None], causal=True)[:, 1, 2]
    assert torch.allclose(causal, (1 + xs / 2) / 2, atol=1e-15)
    assert torch.allclose(causal, run_layers(layers, inputs, [s, s], causal=False)[:, 0, 2])


@pytest.mark.parametrize(("m", "k"), [(1, 1), (2, 3), (3, 2), (5, 4)])
def test_core_head_prefix_tokens_reach_every_key_value_pair(m: int, k: int) -> None:
    """Item 3: [W_K; W_V] of the core head has full row rank (m+1)+k, and the token
    [0; key; value] has that key and value; a head whose stacked matrix has more rows than
    columns misses some pairs."""
    head = CoreHead(m, k)
    stacked = torch.cat((head.w_key, head.w_value))
    assert stacked.shape == (m + 1 + k, 2 * (m + 1) + k)
    assert torch.linalg.matrix_rank(stacked).item() == m + 1 + k
    g = torch.Generator().manual_seed(m + k)
    key = torch.randn(m + 1, generator=g, dtype=torch.float64)
    value = torch.randn(k, generator=g, dtype=torch.float64)
    token = torch.cat((torch.zeros(m + 1, dtype=torch.float64), key, value))
    assert torch.equal(head.w_key @ token, key) and torch.equal(head.w_value @ token, value)
    tall = AttentionHead.random(6, 6, 3, seed=m, scale=1.0)
    stacked = torch.cat((tall.w_key, tall.w_value))
    pair = torch.randn((9, 1), generator=g, dtype=torch.float64)
    nearest = stacked @ torch.linalg.pinv(stacked) @ pair
    assert torch.linalg.matrix_rank(stacked).item() == 6
    assert (pair - nearest).norm().item() > 1e-3
