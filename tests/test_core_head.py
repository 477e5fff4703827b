"""Tests of prefix_approx.core_head: the fixed core head, its prefixes, and the guarantee of
build_prefix (result C) for Lipschitz targets."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prefix_approx import (
    AttentionHead,
    CoreHead,
    build_prefix,
    core_prefix,
    geodesic_distance,
    lipschitz_prefix_length_bound,
    random_sphere_points,
    sup_error,
)
from prefix_approx._validation import evaluate_target


# ----------------------------------------------------------------- Lipschitz targets
def distance_target(m: int, seed: int, scale: float):
    """scale * (d(x, p) - pi/2): |scale|-Lipschitz, bounded by |scale| pi/2, with kinks at
    p and -p."""
    pole = random_sphere_points(1, m, seed=seed)[0]

    def f(x: torch.Tensor) -> torch.Tensor:
        return scale * (geodesic_distance(x, pole.expand_as(x)) - math.pi / 2)[:, None]

    return f, abs(scale), abs(scale) * math.pi / 2


def linear_target(m: int, k: int, seed: int):
    """x -> A x: ||A||_2-Lipschitz (chords are shorter than arcs), bounded by ||A||_2."""
    a = torch.randn((k, m + 1), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    norm = float(torch.linalg.matrix_norm(a, ord=2))
    return (lambda x: x @ a.T), norm, norm


def sine_target(m: int, seed: int, frequency: float):
    """sin(<w, x>) with |w| = frequency: frequency-Lipschitz, bounded by 1."""
    w = random_sphere_points(1, m, seed=seed)[0] * frequency
    return (lambda x: torch.sin(x @ w)[:, None]), frequency, 1.0


def stack(*targets):
    """Vector-valued target from components: Lipschitz and sup constants add in quadrature."""

    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([t[0](x) for t in targets], dim=1)

    lipschitz = math.sqrt(sum(t[1] ** 2 for t in targets))
    bound = math.sqrt(sum(t[2] ** 2 for t in targets))
    return f, lipschitz, bound


# ------------------------------------------------------------------ the head itself
@pytest.mark.parametrize(("m", "k"), [(1, 1), (2, 3), (3, 2)])
def test_core_head_weights_depend_on_m_and_k_only(m: int, k: int) -> None:
    head = CoreHead(m, k)
    d = m + 1
    assert head.d_model == 2 * d + k and head.d_value == k
    assert torch.equal(head.w_query[:, :d], torch.eye(d, dtype=torch.float64))
    assert torch.equal(head.w_key[:, d : 2 * d], torch.eye(d, dtype=torch.float64))
    assert torch.equal(head.w_value[:, 2 * d :], torch.eye(k, dtype=torch.float64))
    assert head.w_query.abs().sum() == d and head.w_key.abs().sum() == d
    assert list(head.parameters()) == []
    assert f"m={m}, k={k}" in repr(head)


@pytest.mark.parametrize("causal", [False, True])
def test_closed_form_input_block_matches_generic_attention(causal: bool) -> None:
    """The head's shortcut for the input block equals a plain AttentionHead evaluation."""
    m, k = 2, 3
    head = CoreHead(m, k)
    generic = AttentionHead(head.w_query, head.w_key, head.w_value)
    points = random_sphere_points(40, m, seed=3)
    values = torch.randn((40, k), generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    prefix = core_prefix(points, values, lam=7.0)
    x = random_sphere_points(4 * 9, m, seed=5).reshape(4, 9, m + 1)
    tokens = head.embed(x)
    expected = generic.dense(tokens, prefix.tokens, tokens, causal=causal)
    assert torch.allclose(head(x, prefix, causal=causal), expected, rtol=0, atol=1e-13)
    assert torch.allclose(head(x, prefix.tokens, causal=causal), expected, rtol=0, atol=1e-13)


def test_output_formula_of_lemma_3() -> None:
    """H(x) = sum_j e^{lam<x,c_j>} v_j / (sum_j e^{lam<x,c_j>} + T)."""
    m, k, lam = 1, 2, 3.0
    points = random_sphere_points(5, m, seed=1)
    values = torch.arange(10, dtype=torch.float64).reshape(5, 2)
    x = random_sphere_points(6, m, seed=2)[None]
    weights = torch.exp(lam * x[0] @ points.T)
    expected = weights @ values / (weights.sum(1, keepdim=True) + 6)
    out = CoreHead(m, k)(x, core_prefix(points, values, lam))
    assert torch.allclose(out[0], expected, atol=1e-14)


def test_core_prefix_round_trips_points_and_values() -> None:
    points = random_sphere_points(7, 3, seed=0)
    values = torch.randn((7, 2), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    prefix = core_prefix(points, values, lam=123.0)
    assert len(prefix) == 7 and (prefix.m, prefix.k, prefix.lam) == (3, 2, 123.0)
    assert torch.allclose(prefix.control_points, points, atol=1e-15)
    assert torch.equal(prefix.values, values)
    assert torch.equal(prefix.tokens[:, :4], torch.zeros(7, 4, dtype=torch.float64))
    assert prefix.guaranteed is None and prefix.parameters is None


def test_large_lam_interpolates_the_nearest_control_point() -> None:
    points = random_sphere_points(30, 2, seed=0)
    values = torch.arange(30, dtype=torch.float64)[:, None]
    x = random_sphere_points(500, 2, seed=1)
    nearest = (x @ points.T).argmax(dim=1)
    out = CoreHead(2, 1)(x[:, None], core_prefix(points, values, lam=1e7))
    assert torch.equal(out[:, 0, 0].round(), nearest.double())
    assert torch.isfinite(out).all()


def test_huge_lam_does_not_overflow() -> None:
    """At lam = 1e300 the head is exactly nearest-control-point interpolation: the nearest
    point's weight exp(lam <x, c>) dwarfs the others and the T input tokens, so the output
    is its value, exactly (not merely finite)."""
    x = random_sphere_points(3, 1, seed=0)
    points = random_sphere_points(4, 1, seed=1)
    values = torch.arange(1.0, 5.0, dtype=torch.float64)[:, None]
    out = CoreHead(1, 1)(x[None], core_prefix(points, values, lam=1e300))
    nearest = (x @ points.T).argmax(dim=1)
    assert torch.equal(out[0], values[nearest])
    ones = CoreHead(1, 1)(x[None], core_prefix(points, torch.ones(4, 1), lam=1e300))
    assert torch.equal(ones, torch.ones(1, 3, 1, dtype=torch.float64))


# ------------------------------------------------------------ the guarantee (result C)
@settings(max_examples=25, deadline=None)
@given(
    m=st.sampled_from([1, 2]),
    kind=st.sampled_from(["distance", "linear", "sine", "stack"]),
    eps=st.floats(0.25, 1.0),
    max_len=st.integers(1, 40),
    seed=st.integers(0, 10_000),
)
def test_build_prefix_guarantee_holds_on_dense_points(m, kind, eps, max_len, seed) -> None:
    targets = {
        "distance": lambda: distance_target(m, seed, scale=1.5),
        "linear": lambda: linear_target(m, 2, seed),
        "sine": lambda: sine_target(m, seed, frequency=2.0),
        "stack": lambda: stack(distance_target(m, seed, 1.0), sine_target(m, seed + 1, 1.0)),
    }
    f, lipschitz, bound = targets[kind]()
    prefix = build_prefix(f, m=m, eps=eps, lipschitz=lipschitz, bound=bound, max_len=max_len)
    params = prefix.parameters
    assert params is not None and params.guaranteed <= eps
    assert params.radius <= params.delta <= eps / (4 * lipschitz) + 1e-15
    # Full-length sequences are the worst case; sample densely.
    n_seq = max(1, 3000 // max_len)
    x = random_sphere_points(n_seq * max_len, m, seed=seed + 7).reshape(n_seq, max_len, m + 1)
    assert sup_error(f, prefix, x) <= params.guaranteed
    assert len(prefix) <= lipschitz_prefix_length_bound(m, eps=eps, lipschitz=lipschitz)


def test_guarantee_on_s3_and_at_kinks() -> None:
    m = 3
    f, lipschitz, bound = distance_target(m, seed=11, scale=1.0)
    prefix = build_prefix(f, m=m, eps=0.3, lipschitz=lipschitz, bound=bound, max_len=8)
    pole = random_sphere_points(1, m, seed=11)
    near_kinks = torch.cat([pole, -pole, random_sphere_points(4000, m, seed=1)])
    x = near_kinks[: 8 * (near_kinks.shape[0] // 8)].reshape(-1, 8, m + 1)
    assert sup_error(f, prefix, x) <= prefix.guaranteed <= 0.3
    assert len(prefix) <= lipschitz_prefix_length_bound(m, eps=0.3, lipschitz=lipschitz)


def test_shorter_sequences_and_causal_positions_are_covered() -> None:
    f, lipschitz, bound = sine_target(2, seed=0, frequency=1.0)
    prefix = build_prefix(f, m=2, eps=0.3, lipschitz=lipschitz, bound=bound, max_len=20)
    head = CoreHead(2, 1)
    for length in (1, 5, 20):
        x = random_sphere_points(50 * length, 2, seed=length).reshape(50, length, 3)
        assert sup_error(f, prefix, x) <= prefix.guaranteed <= 0.3
    x = random_sphere_points(50 * 20, 2, seed=3).reshape(50, 20, 3)
    y = head(x, prefix, causal=True)
    error = float((y - f(x.reshape(-1, 3)).reshape(50, 20, 1)).abs().max())
    assert error <= prefix.guaranteed


def test_one_head_many_prefixes() -> None:
    """The same head object serves different targets; its weights never change."""
    head = CoreHead(1, 1)
    before = {name: b.clone() for name, b in head.named_buffers()}
    x = random_sphere_points(64, 1, seed=0).reshape(4, 16, 2)
    for f, lipschitz, bound in (sine_target(1, 0, 3.0), distance_target(1, 1, 1.0)):
        prefix = build_prefix(f, m=1, eps=0.1, lipschitz=lipschitz, bound=bound, max_len=16)
        assert sup_error(f, prefix, x) <= prefix.guaranteed <= 0.1
    for name, b in head.named_buffers():
        assert torch.equal(b, before[name])


def test_constant_target_with_zero_lipschitz_constant() -> None:
    prefix = build_prefix(
        lambda x: torch.full((x.shape[0], 1), 0.5),
        m=2,
        eps=0.01,
        lipschitz=0,
        bound=0.5,
        max_len=4,
    )
    x = random_sphere_points(400, 2, seed=0).reshape(100, 4, 3)
    assert float((CoreHead(2, 1)(x, prefix) - 0.5).abs().max()) <= 0.01


# ------------------------------------------------------------------------ bad input
def test_build_prefix_rejects_bad_arguments() -> None:
    f, lipschitz, bound = sine_target(1, seed=0, frequency=1.0)
    ok = {"m": 1, "eps": 0.1, "lipschitz": lipschitz, "bound": bound, "max_len": 4}
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        build_prefix(f, **{**ok, "eps": 0.0})
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        build_prefix(f, **{**ok, "eps": -1.0})
    with pytest.raises(ValueError, match="m must be an integer >= 1"):
        build_prefix(f, **{**ok, "m": 0})
    with pytest.raises(ValueError, match="lipschitz must be a finite number >= 0"):
        build_prefix(f, **{**ok, "lipschitz": -1.0})
    with pytest.raises(TypeError, match="lipschitz must be a real number"):
        build_prefix(f, **{**ok, "lipschitz": "1"})
    with pytest.raises(ValueError, match="bound must be a finite number > 0"):
        build_prefix(f, **{**ok, "bound": float("inf")})
    with pytest.raises(ValueError, match="max_len must be an integer >= 1"):
        build_prefix(f, **{**ok, "max_len": 0})
    with pytest.raises(TypeError, match="f must be a function"):
        build_prefix(42, **ok)


def test_build_prefix_rejects_bad_targets() -> None:
    ok = {"m": 1, "eps": 0.2, "lipschitz": 1.0, "bound": 1.0, "max_len": 4}
    with pytest.raises(ValueError, match=r"return shape \(Q, k\).*f\(x\)\[:, None\]"):
        build_prefix(lambda x: x[:, 0], **ok)
    with pytest.raises(ValueError, match="must be finite"):
        build_prefix(lambda x: torch.full((x.shape[0], 1), float("nan")), **ok)
    with pytest.raises(TypeError, match="array of real numbers"):
        build_prefix(lambda x: "nope", **ok)
    with pytest.raises(ValueError, match="above the stated bound"):
        build_prefix(lambda x: 3 * x[:, :1], **ok)
    with pytest.raises(ValueError, match=r"is not 1\.0-Lipschitz"):
        build_prefix(lambda x: torch.sin(10 * x[:, :1]) / 2, **ok)


def test_head_rejects_bad_points_and_mismatched_prefixes() -> None:
    head = CoreHead(2, 1)
    prefix = core_prefix(random_sphere_points(5, 2, seed=0), torch.ones(5, 1), lam=2.0)
    with pytest.raises(ValueError, match="must lie on the unit sphere"):
        head(2 * random_sphere_points(3, 2, seed=1)[None], prefix)
    with pytest.raises(ValueError, match="last dimension 3"):
        head(random_sphere_points(3, 3, seed=1)[None], prefix)
    with pytest.raises(ValueError, match=r"built for CoreHead\(m=2, k=1\)"):
        CoreHead(2, 2)(random_sphere_points(3, 2, seed=1)[None], prefix)
    with pytest.raises(ValueError, match="columns"):
        head(random_sphere_points(3, 2, seed=1)[None], torch.zeros(5, 4))
    with pytest.raises(ValueError, match="prefix is empty"):
        head(random_sphere_points(3, 2, seed=1)[None], torch.zeros(0, 7))
    with pytest.raises(ValueError, match="m must be an integer >= 1"):
        CoreHead(0, 1)


def test_core_prefix_and_evaluate_target_reject_bad_input() -> None:
    points = random_sphere_points(4, 1, seed=0)
    with pytest.raises(ValueError, match="one value per control point"):
        core_prefix(points, torch.ones(3, 1), lam=1.0)
    with pytest.raises(ValueError, match="lam must be a finite number > 0"):
        core_prefix(points, torch.ones(4, 1), lam=0.0)
    with pytest.raises(ValueError, match="must lie on the unit sphere"):
        core_prefix(2 * points, torch.ones(4, 1), lam=1.0)
    with pytest.raises(TypeError, match="must be a function"):
        evaluate_target("f", points)
    assert evaluate_target(lambda x: x, points).shape == (4, 2)


# ------------------------------------------------- continuous targets (Theorem 1)
def test_build_prefix_with_a_modulus_of_continuity_for_a_holder_target() -> None:
    """sqrt(d(x, p)) is not Lipschitz at p, but its modulus is w(t) = sqrt(t)."""
    pole = random_sphere_points(1, 1, seed=5)[0]

    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(geodesic_distance(x, pole.expand_as(x)))[:, None]

    prefix = build_prefix(f, m=1, eps=0.2, bound=math.sqrt(math.pi), max_len=10, modulus=math.sqrt)
    params = prefix.parameters
    assert params.near_error == pytest.approx(math.sqrt(2 * params.delta))
    assert params.near_error <= 0.1 + 1e-12 and params.guaranteed <= 0.2
    x = torch.cat([pole[None], random_sphere_points(2999, 1, seed=6)]).reshape(300, 10, 2)
    assert sup_error(f, prefix, x) <= prefix.guaranteed


def test_build_prefix_needs_exactly_one_continuity_statement() -> None:
    f, _, bound = sine_target(1, seed=0, frequency=1.0)
    with pytest.raises(ValueError, match="exactly one of lipschitz= or modulus="):
        build_prefix(f, m=1, eps=0.1, bound=bound, max_len=2)
    with pytest.raises(ValueError, match="exactly one of lipschitz= or modulus="):
        build_prefix(f, m=1, eps=0.1, bound=bound, max_len=2, lipschitz=1.0, modulus=abs)
    with pytest.raises(ValueError, match="continuous with the given modulus"):
        build_prefix(f, m=1, eps=0.1, bound=bound, max_len=2, modulus=lambda t: 0.1 * t)


def test_sup_error_matches_a_direct_computation() -> None:
    f, lipschitz, bound = sine_target(2, seed=1, frequency=1.5)
    prefix = build_prefix(f, m=2, eps=0.4, bound=bound, max_len=5, lipschitz=lipschitz)
    x = random_sphere_points(50, 2, seed=2).reshape(10, 5, 3)
    direct = (CoreHead(2, 1)(x, prefix) - f(x.reshape(-1, 3)).reshape(10, 5, 1)).abs().max()
    assert sup_error(f, prefix, x) == pytest.approx(direct.item(), rel=1e-15)
    assert sup_error(f, prefix, x, causal=True) <= prefix.guaranteed <= 0.4
    with pytest.raises(TypeError, match="must be a CorePrefix"):
        sup_error(f, prefix.tokens, x)
    with pytest.raises(ValueError, match="last dimension 3"):
        sup_error(f, prefix, random_sphere_points(4, 1, seed=0)[:, None])
