"""Tests of prefix_approx.kolmogorov_arnold and prefix_approx.transformer: representations,
the fixed transformer, both routes, their guarantees, and what prefixes cannot do."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prefix_approx import (
    HeadPrefixReport,
    KARepresentation,
    PrefixedTransformer,
    TransformerPrefixes,
    gather_prefix_length,
    gather_prefixes,
    gather_transformer,
    ka_centering,
    ka_log_sum_exp,
    ka_prefixes,
    ka_product,
    ka_root_mean,
    ka_shift,
    ka_times_mean,
    ka_transformer,
    key_writing_prefixes,
    key_writing_transformer,
    mixing_prefixes,
    mixing_transformer,
)
from prefix_approx._validation import check_sequences

REPRESENTATIONS = {
    "centering": ka_centering,
    "times_mean": ka_times_mean,
    "log_sum_exp": ka_log_sum_exp,
    "product": ka_product,
    "shift": ka_shift,
    "root_mean": ka_root_mean,
}


def sequences(batch: int, n: int, seed: int) -> torch.Tensor:
    """Random sequences plus the corners of the cube, where ranges are extreme."""
    x = torch.rand((batch, n), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    corners = torch.cartesian_prod(*[torch.tensor([0.0, 1.0], dtype=torch.float64)] * n)
    return torch.cat([x, corners.reshape(-1, n)])


# ------------------------------------------------------------------ representations
@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(sorted(REPRESENTATIONS)), n=st.integers(1, 5), seed=st.integers(0, 999))
def test_representations_equal_their_targets(name: str, n: int, seed: int) -> None:
    rep = REPRESENTATIONS[name](n)
    assert isinstance(rep, KARepresentation)
    assert len(rep.terms) <= 2 * n + 1  # within Kolmogorov-Arnold's 2n + 1 terms
    x = sequences(50, n, seed)
    assert torch.allclose(rep.evaluate(x), rep(x), rtol=0, atol=1e-12)
    for q in rep.terms:  # the declared ranges hold
        values = torch.stack([rep.inner(x[:, p], p, q) for p in range(n)], 1)
        lo, hi = rep.inner_range[q]
        assert values.min() >= lo - 1e-12 and values.max() <= hi + 1e-12
        mean_lo, mean_hi = rep.mean_range[q]
        assert values.mean(1).min() >= mean_lo - 1e-12 and values.mean(1).max() <= mean_hi + 1e-12


def test_declared_lipschitz_constants_hold() -> None:
    """Finite differences never exceed the declared constants."""
    for name, make in REPRESENTATIONS.items():
        rep = make(3)
        x = torch.linspace(0, 1, 2001, dtype=torch.float64)
        for q in rep.terms:
            for p in range(3):
                slope = (rep.inner(x, p, q).diff().abs() / x.diff()).max().item()
                assert slope <= rep.inner_lipschitz[q] * (1 + 1e-6), (name, q, p)
            lo, hi = rep.mean_range[q]
            z = torch.linspace(lo - rep.margin, hi + rep.margin, 2001, dtype=torch.float64)
            for j in range(3):
                out = rep.outer(z, j, q)
                slope = (out.diff(dim=0).norm(dim=1) / z.diff()).max().item()
                assert slope <= rep.outer_lipschitz[q] * (1 + 1e-6), (name, q, j)


def test_declared_moduli_of_continuity_hold() -> None:
    """|f(t) - f(t')| <= w(|t - t'|) for pairs at many distances, for every function with a
    declared modulus w (outer functions on the mean range widened by the margin)."""
    checked = 0
    for name, make in REPRESENTATIONS.items():
        rep = make(3)
        for kind, moduli in (("inner", rep.inner_modulus), ("outer", rep.outer_modulus)):
            for q, modulus in moduli.items():
                if kind == "inner":
                    t = torch.linspace(0, 1, 2001, dtype=torch.float64)
                    curves = [rep.inner(t, p, q)[:, None] for p in range(3)]
                else:
                    lo, hi = rep.mean_range[q]
                    t = torch.linspace(lo - rep.margin, hi + rep.margin, 2001, dtype=torch.float64)
                    curves = [rep.outer(t, j, q) for j in range(3)]
                for values in curves:
                    for step in (1, 3, 10, 100, 1000):
                        change = (values[step:] - values[:-step]).norm(dim=1)
                        gaps = (t[step:] - t[:-step]).tolist()
                        allowed = torch.tensor([modulus(g) for g in gaps], dtype=torch.float64)
                        assert (change <= allowed * (1 + 1e-9) + 1e-15).all(), (name, kind, q)
                        checked += 1
    assert checked > 0


def _mean_of_roots(n: int) -> KARepresentation:
    """g_j(x) = mean_p sqrt(x_p): an inner function that is not Lipschitz (modulus sqrt)."""
    return KARepresentation(
        name="mean of roots",
        n=n,
        k=1,
        terms=(0,),
        inner=lambda x, p, q: torch.sqrt(x),
        outer=lambda z, j, q: z[:, None],
        inner_range={0: (0.0, 1.0)},
        mean_range={0: (0.0, 1.0)},
        inner_lipschitz={0: math.inf},
        outer_lipschitz={0: 1.0},
        target=lambda x: torch.sqrt(x).mean(1, keepdim=True).expand(-1, n)[..., None],
        inner_modulus={0: math.sqrt},
    )


def test_ka_route_with_moduli_of_continuity_meets_its_guarantee() -> None:
    """The curve lemma with a modulus: targets whose outer (root of the mean) or inner (mean
    of roots) function is not Lipschitz meet their guarantees, and their prefixes grow like
    eps^-2, as w(t) = sqrt(t) makes delta shrink like eps^2."""
    model = ka_transformer(2)
    x = sequences(400, 2, seed=5)
    for rep, eps in ((ka_root_mean(2), 0.1), (_mean_of_roots(2), 0.2)):
        prefixes = ka_prefixes(model, rep, eps=eps)
        assert prefixes.guaranteed <= eps
        assert (model(x, prefixes) - rep(x)).norm(dim=-1).max().item() <= prefixes.guaranteed
    sizes = [ka_prefixes(model, ka_root_mean(2), eps=e).total_tokens for e in (0.2, 0.1)]
    assert sizes[1] / sizes[0] == pytest.approx(4, rel=0.05)


def test_a_linear_modulus_gives_the_lipschitz_plan() -> None:
    """Declaring w(t) = L t as a modulus reproduces the Lipschitz construction up to the
    bisection's rounding: nearly the same prefix length and guarantee."""
    model = ka_transformer(2)
    rep = ka_times_mean(2)
    linear = dataclasses.replace(
        rep,
        inner_modulus={q: (lambda t, c=rep.inner_lipschitz[q]: c * t) for q in rep.terms},
        outer_modulus={q: (lambda t, c=rep.outer_lipschitz[q]: c * t) for q in rep.terms},
    )
    plain, general = ka_prefixes(model, rep, eps=0.1), ka_prefixes(model, linear, eps=0.1)
    assert general.total_tokens == pytest.approx(plain.total_tokens, rel=0.01)
    assert general.guaranteed == pytest.approx(plain.guaranteed, rel=1e-6)
    assert general.guaranteed <= 0.1


def test_wrong_or_malformed_moduli_raise_clear_errors() -> None:
    model = ka_transformer(2)
    rep = ka_root_mean(2)
    # sqrt is not 10-Lipschitz near 0: the grid check sees it.
    claimed = dataclasses.replace(rep, outer_modulus={}, outer_lipschitz={0: 10.0})
    with pytest.raises(ValueError, match="-Lipschitz as claimed"):
        ka_prefixes(model, claimed, eps=0.1)
    lying = dataclasses.replace(rep, outer_modulus={0: lambda t: 0.5 * math.sqrt(t)})
    with pytest.raises(ValueError, match="breaks its claimed modulus of continuity"):
        ka_prefixes(model, lying, eps=0.1)
    with pytest.raises(ValueError, match="must tend to 0"):
        ka_prefixes(model, dataclasses.replace(rep, outer_modulus={0: lambda t: 1.0}), eps=0.1)
    with pytest.raises(ValueError, match="must tend to 0"):
        ka_prefixes(model, dataclasses.replace(rep, inner_modulus={0: lambda t: 1.0}), eps=0.1)
    with pytest.raises(TypeError, match=r"outer_modulus\[0\] must be a function"):
        ka_prefixes(model, dataclasses.replace(rep, outer_modulus={0: 2.0}), eps=0.1)
    with pytest.raises(ValueError, match="outer_modulus must be a dict from terms"):
        ka_prefixes(model, dataclasses.replace(rep, outer_modulus={3: math.sqrt}), eps=0.1)
    with pytest.raises(ValueError, match="finite values >= 0"):
        bad = dataclasses.replace(rep, outer_modulus={0: lambda t: -t})
        ka_prefixes(model, bad, eps=0.1)
    with pytest.raises(ValueError, match=r"outer_lipschitz\[0\] must be a finite number"):
        ka_prefixes(model, dataclasses.replace(rep, outer_modulus={}), eps=0.1)


# ------------------------------------------------------------------ the fixed model
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_depth_is_linear_in_n_and_independent_of_eps(n: int) -> None:
    model = ka_transformer(n)
    assert model.depth == 3 * (2 * n + 1)
    assert gather_transformer(n).depth == n + 1
    rep = ka_centering(n)
    coarse, fine = ka_prefixes(model, rep, eps=0.5), ka_prefixes(model, rep, eps=0.05)
    assert len(coarse.tokens) == len(fine.tokens) == model.depth
    assert fine.total_tokens > coarse.total_tokens


def test_one_model_many_targets_weights_bit_for_bit_unchanged() -> None:
    model = ka_transformer(2)
    assert list(model.parameters()) == []
    before = {name: t.clone() for name, t in model.state_dict().items()}
    x = sequences(200, 2, seed=1)
    for rep in (ka_centering(2), ka_times_mean(2), ka_product(2)):
        prefixes = ka_prefixes(model, rep, eps=0.1)
        assert (model(x, prefixes) - rep(x)).norm(dim=-1).max() <= prefixes.guaranteed
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_without_prefixes_the_core_heads_output_zero() -> None:
    model = ka_transformer(2)
    x = sequences(10, 2, seed=0)
    assert torch.equal(model(x, model.blank_prefixes()), torch.zeros(x.shape[0], 2, 1))


def test_uniform_heads_write_exact_means_and_copy_heads_copy() -> None:
    ka = ka_transformer(3)
    x = sequences(20, 3, seed=2)
    prefixes = ka_prefixes(ka, ka_centering(3), eps=0.2)
    states = ka.trace(x, prefixes)
    assert len(states) == ka.depth + 1
    after_mean = states[2]  # embedding, inner 0, mean 0
    inner = ka.slot(after_mean, "A0")[..., 0]
    mean = ka.slot(after_mean, "M0")[..., 0]
    assert torch.allclose(mean, inner.mean(1, keepdim=True).expand_as(mean), atol=1e-15)
    gather = gather_transformer(3)
    copied = gather.trace(x, gather.blank_prefixes())[3]
    for i in range(3):
        slot = gather.slot(copied, f"G{i}")[..., 0]
        # Exact up to rounding: the other positions' weights are below 1e-300.
        assert (slot - x[:, i : i + 1]).abs().max().item() <= 1e-15


def test_embedding_places_positions_on_disjoint_arcs() -> None:
    model = ka_transformer(3)
    x = torch.tensor([[0.0, 0.5, 1.0]], dtype=torch.float64)
    e = model.slot(model.embed(x), "E")[0]
    angles = torch.atan2(e[:, 1], e[:, 0]) % (2 * math.pi)
    expected = torch.tensor([0.0, 2 * math.pi / 3 + math.pi / 6, 4 * math.pi / 3 + math.pi / 3])
    assert torch.allclose(angles, expected.double(), atol=1e-12)
    assert torch.allclose(e.norm(dim=1), torch.ones(3, dtype=torch.float64))


# ---------------------------------------------------------------- the guarantees
@settings(max_examples=12, deadline=None)
@given(
    name=st.sampled_from(sorted(REPRESENTATIONS)),
    n=st.integers(1, 3),
    eps=st.floats(0.05, 0.5),
    seed=st.integers(0, 999),
)
def test_ka_route_meets_its_guarantee(name: str, n: int, eps: float, seed: int) -> None:
    rep = REPRESENTATIONS[name](n)
    model = ka_transformer(n)
    prefixes = ka_prefixes(model, rep, eps=eps)
    assert isinstance(prefixes, TransformerPrefixes) and prefixes.guaranteed <= eps
    assert all(isinstance(r, HeadPrefixReport) for r in prefixes.reports)
    x = sequences(400, n, seed)
    assert (model(x, prefixes) - rep(x)).norm(dim=-1).max().item() <= prefixes.guaranteed


@pytest.mark.parametrize(("n", "eps"), [(1, 0.05), (2, 0.1), (3, 0.4)])
def test_gather_route_meets_its_guarantee(n: int, eps: float) -> None:
    rep = ka_times_mean(n)
    lipschitz = 1 + 1 / math.sqrt(n)  # |grad (x_j mean)| <= mean + x_j / sqrt(n)
    model = gather_transformer(n)
    prefixes = gather_prefixes(model, rep, lipschitz=lipschitz, eps=eps)
    assert prefixes.guaranteed <= eps
    assert prefixes.total_tokens == gather_prefix_length(n, lipschitz=lipschitz, eps=eps)
    x = sequences(300, n, seed=n)
    assert (model(x, prefixes) - rep(x)).norm(dim=-1).max().item() <= prefixes.guaranteed


def test_gather_prefix_grows_like_eps_to_minus_n_and_ka_like_one_over_eps() -> None:
    for n in (2, 3):
        lipschitz = 1 + 1 / math.sqrt(n)
        g = [gather_prefix_length(n, lipschitz=lipschitz, eps=e) for e in (0.1, 0.025)]
        ka = [
            ka_prefixes(ka_transformer(n), ka_times_mean(n), eps=e).total_tokens
            for e in (0.1, 0.025)
        ]
        assert math.log(g[1] / g[0], 4) == pytest.approx(n, abs=0.15)
        assert math.log(ka[1] / ka[0], 4) == pytest.approx(1, abs=0.15)


# ------------------------------------------------------ what prefixes cannot do
def test_mixing_model_computes_functions_of_the_token_and_the_mean() -> None:
    model = mixing_transformer(3)
    prefixes = mixing_prefixes(
        model, lambda xj, m, j: (xj - m)[:, None], lipschitz=math.sqrt(2), eps=0.05
    )
    x = sequences(300, 3, seed=4)
    assert (model(x, prefixes) - ka_centering(3)(x)).abs().max().item() <= prefixes.guaranteed


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), n_tokens=st.integers(1, 50), scale=st.floats(0.1, 10.0))
def test_no_prefix_lets_the_mixing_model_shift(seed: int, n_tokens: int, scale: float) -> None:
    """Two sequences with the same x_2 and the same mean get the same output at position 2,
    for any prefixes in both layers; their shift targets differ by 1."""
    model = mixing_transformer(3)
    g = torch.Generator().manual_seed(seed)
    prefixes = [
        scale * torch.randn((n_tokens, model.d_model), generator=g, dtype=torch.float64)
        for _ in range(model.depth)
    ]
    x = torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.0, 0.5]], dtype=torch.float64)
    out = model(x, prefixes)[:, 2, 0]
    # Equal up to rounding: the two sequences' sums are formed in different orders.
    assert out[0].item() == pytest.approx(out[1].item(), abs=1e-9)
    targets = ka_shift(3)(x)[:, 2, 0]
    assert (targets[0] - targets[1]).abs().item() == 1.0
    assert max((out - targets).abs().tolist()) >= 0.5 - 1e-9


# ------------------------------------------- what a prefix in layer 1 does to layer 2
#: Rounding of a softmax average of n tokens in [0, 1], far above it in float64.
ROUNDING = 1e-14


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(2, 9),
    offset=st.integers(-20, 20),
    eps=st.floats(1e-9, 0.5),
    seed=st.integers(0, 10_000),
)
def test_first_layer_prefix_makes_the_second_layer_shift(
    n: int, offset: int, eps: float, seed: int
) -> None:
    """With the layer-1 prefix of key_writing_prefixes, layer 2 outputs x_((i - offset) mod n)
    within the guarantee <= eps; this fails if the first prefix is removed (next test)."""
    if offset % n == 0:
        return
    model = key_writing_transformer(n)
    prefixes = key_writing_prefixes(model, eps=eps, offset=offset)
    assert prefixes.tokens[0] is not None and prefixes.tokens[1] is None
    assert prefixes.total_tokens == n and prefixes.guaranteed <= eps
    x = sequences(200, n, seed=seed)
    error = (model(x, prefixes)[..., 0] - x.roll(offset, dims=1)).abs().max().item()
    assert error <= prefixes.guaranteed + ROUNDING


def test_without_the_first_prefix_no_second_prefix_shifts() -> None:
    """Remove the layer-1 prefix: layer 2 writes the mean, and whatever its own prefix, it
    gives two sequences with the same mean the same output while their shift targets differ
    by 1, so the error is at least 1/2."""
    model = key_writing_transformer(3)
    built = key_writing_prefixes(model, eps=1e-6)
    pair = torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.0, 0.5]], dtype=torch.float64)
    targets = pair.roll(1, dims=1)[:, 2]
    assert (model(pair, built)[:, 2, 0] - targets).abs().max().item() <= 1e-6
    x = sequences(200, 3, seed=5)
    mean = model(x, [None, None])[..., 0]
    assert torch.allclose(mean, x.mean(1, keepdim=True).expand_as(mean), atol=1e-15)
    g = torch.Generator().manual_seed(6)
    for _ in range(20):
        second = torch.randn((7, model.d_model), generator=g, dtype=torch.float64)
        out = model(pair, [None, 3 * second])[:, 2, 0]
        assert out[0].item() == pytest.approx(out[1].item(), abs=1e-9)
        assert (out - targets).abs().max().item() >= 0.5 - 1e-9


def test_first_layer_prefix_turns_a_uniform_head_into_a_permutation() -> None:
    """Layer 2's attention over the tokens: uniform without the layer-1 prefix, the cyclic
    shift by `offset` with it (weight at least 1 - guaranteed on position i - offset)."""
    n, offset = 4, 3
    model = key_writing_transformer(n)
    prefixes = key_writing_prefixes(model, eps=1e-8, offset=offset)
    x = sequences(50, n, seed=7)
    head = model.layers[1].head
    with_prefix = model.trace(x, prefixes)[1]
    without = model.trace(x, [None, None])[1]
    uniform = head.attention_weights(without, None, without)
    assert torch.allclose(uniform, torch.full_like(uniform, 1 / n), atol=1e-15)
    weights = head.attention_weights(with_prefix, None, with_prefix)
    # Row i has its 1 in column (i - offset) mod n.
    permutation = torch.eye(n, dtype=torch.float64).roll(-offset, dims=1)
    assert (weights - permutation).abs().max().item() <= prefixes.guaranteed
    # The weights of the model do not change: only the prefix differs.
    assert list(model.parameters()) == []


def test_key_writing_arguments_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        key_writing_transformer(1)
    with pytest.raises(TypeError, match="n must be an integer"):
        key_writing_transformer(2.0)  # type: ignore[arg-type]
    model = key_writing_transformer(3)
    with pytest.raises(ValueError, match="for the 'key-writing' route"):
        key_writing_prefixes(mixing_transformer(3), eps=0.1)
    with pytest.raises(TypeError, match="must be a PrefixedTransformer"):
        key_writing_prefixes("model", eps=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="eps must be < 1"):
        key_writing_prefixes(model, eps=1.0)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        key_writing_prefixes(model, eps=0.0)
    with pytest.raises(ValueError, match="offset must not be 0 modulo n = 3"):
        key_writing_prefixes(model, eps=0.1, offset=6)
    with pytest.raises(TypeError, match="offset must be an integer"):
        key_writing_prefixes(model, eps=0.1, offset=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="offset must be an integer"):
        key_writing_prefixes(model, eps=0.1, offset=True)
    with pytest.raises(ValueError, match="built for the 'key-writing' route"):
        mixing_transformer(3)(torch.zeros(1, 3), key_writing_prefixes(model, eps=0.1))


# ----------------------------------------------------------------------- bad input
def test_bad_sequences_and_prefixes_raise_clear_errors() -> None:
    model = ka_transformer(2)
    prefixes = ka_prefixes(model, ka_centering(2), eps=0.3)
    with pytest.raises(ValueError, match="sequences of n = 2 tokens"):
        model(torch.zeros(3, 3), prefixes)
    with pytest.raises(ValueError, match=r"every token in \[0, 1\]"):
        model(torch.full((1, 2), 1.5), prefixes)
    with pytest.raises(ValueError, match="must have 2 dimensions"):
        model(torch.zeros(2), prefixes)
    with pytest.raises(ValueError, match="one prefix"):
        model(torch.zeros(1, 2), prefixes.tokens[:-1])
    with pytest.raises(ValueError, match="columns"):
        model(torch.zeros(1, 2), [torch.zeros(3, 5)] + [None] * (model.depth - 1))
    with pytest.raises(ValueError, match="built for the 'kolmogorov-arnold' route"):
        gather_transformer(2)(torch.zeros(1, 2), prefixes)
    with pytest.raises(TypeError, match="sequence, one per layer"):
        model(torch.zeros(1, 2), torch.zeros(3, 22))
    with pytest.raises(ValueError, match="no slot"):
        model.slot(model.embed(torch.zeros(1, 2)), "NOPE")
    with pytest.raises(ValueError, match="sequences of n = 3 tokens"):
        check_sequences(torch.zeros(1, 2), 3)


def test_bad_builder_arguments_raise_clear_errors() -> None:
    model = ka_transformer(2)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        ka_prefixes(model, ka_centering(2), eps=0.0)
    with pytest.raises(ValueError, match="the representation is for n = 3"):
        ka_prefixes(model, ka_centering(3), eps=0.1)
    with pytest.raises(TypeError, match="must be a KARepresentation"):
        ka_prefixes(model, lambda x: x, eps=0.1)
    with pytest.raises(ValueError, match="for the 'gather' route"):
        gather_prefixes(model, ka_centering(2), lipschitz=1.0, eps=0.1)
    with pytest.raises(TypeError, match="must be a PrefixedTransformer"):
        ka_prefixes("model", ka_centering(2), eps=0.1)
    gather = gather_transformer(2)
    with pytest.raises(ValueError, match=r"shape \(B, n, k\)"):
        gather_prefixes(gather, lambda x: x, lipschitz=1.0, eps=0.3)
    with pytest.raises(ValueError, match="lipschitz must be a finite number >= 0"):
        gather_prefixes(gather, ka_centering(2), lipschitz=-1.0, eps=0.3)
    with pytest.raises(ValueError, match=r"apply\(x_j, m, j\) must have 2 dimensions"):
        mixing_prefixes(mixing_transformer(2), lambda a, m, j: a, lipschitz=1.0, eps=0.3)
    with pytest.raises(ValueError, match=r"shape \(B, k\) = \(B, 1\)"):
        mixing_prefixes(
            mixing_transformer(2), lambda a, m, j: torch.stack([a, m], 1), lipschitz=1.0, eps=0.3
        )
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        ka_transformer(0)
    assert isinstance(model, PrefixedTransformer) and "depth=15" in repr(model)
