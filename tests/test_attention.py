"""Tests of prefix_approx.attention: the fixed head, the streaming softmax and the prefix
decomposition lemma."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prefix_approx import AttentionHead, PartialAttention, PrefixDecomposition, merge_partial


def gaussian(shape: tuple[int, ...], seed: int, scale: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(shape, generator=generator, dtype=torch.float64)


@pytest.fixture
def head() -> AttentionHead:
    return AttentionHead.random(6, 4, 3, seed=0, scale=2.0)


# --------------------------------------------------------------------- construction
def test_weights_are_frozen_float64_buffers(head: AttentionHead) -> None:
    assert list(head.parameters()) == []
    names = {name for name, _ in head.named_buffers()}
    assert names == {"w_query", "w_key", "w_value"}
    assert all(b.dtype == torch.float64 for b in head.buffers())
    assert (head.d_model, head.d_value) == (6, 3)
    assert "d_model=6" in repr(head)


def test_random_head_depends_on_seed_only() -> None:
    a = AttentionHead.random(5, 2, 2, seed=7)
    b = AttentionHead.random(5, 2, 2, seed=7)
    c = AttentionHead.random(5, 2, 2, seed=8)
    assert torch.equal(a.w_key, b.w_key)
    assert not torch.equal(a.w_key, c.w_key)
    assert a.w_query.std().item() == pytest.approx(1 / math.sqrt(5), rel=0.6)


def test_accepts_numpy_weights_and_lists() -> None:
    head = AttentionHead(np.eye(2), np.eye(2), [[1.0, 0.0]])
    out = head(np.array([[1.0, 0.0]]), prefix=[[0.0, 1.0], [1.0, 0.0]])
    expected = (math.e * 1.0 + 1.0 * 0.0) / (math.e + 1.0)
    assert out.shape == (1, 1)
    assert out.item() == pytest.approx(expected, abs=1e-15)


# ---------------------------------------------------------- streaming equals dense
@settings(max_examples=60, deadline=None)
@given(
    batch=st.sampled_from([(), (1,), (3,), (2, 2)]),
    n_queries=st.integers(1, 7),
    n_prefix=st.integers(0, 40),
    n_inputs=st.integers(0, 9),
    block=st.integers(1, 64),
    scale=st.sampled_from([0.1, 1.0, 5.0]),
    seed=st.integers(0, 2**16),
)
def test_streaming_matches_dense_softmax(batch, n_queries, n_prefix, n_inputs, block, scale, seed):
    head = AttentionHead.random(5, 3, 2, seed=seed, scale=scale)
    q = gaussian((*batch, n_queries, 5), seed + 1)
    p = gaussian((n_prefix, 5), seed + 2) if n_prefix else None
    x = gaussian((*batch, n_inputs, 5), seed + 3) if n_inputs else None
    if p is None and x is None:
        with pytest.raises(ValueError, match="context is empty"):
            head(q, p, x)
        return
    streamed = head(q, p, x, block_elements=block)
    dense = head.dense(q, p, x)
    assert streamed.shape == (*batch, n_queries, 2)
    assert torch.allclose(streamed, dense, rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    n_prefix=st.integers(0, 20),
    block=st.integers(1, 50),
    seed=st.integers(0, 999),
)
def test_causal_streaming_matches_dense(n, n_prefix, block, seed):
    head = AttentionHead.random(4, 4, 3, seed=seed, scale=3.0)
    x = gaussian((2, n, 4), seed + 1)
    p = gaussian((n_prefix, 4), seed + 2)
    streamed = head(x, p, x, causal=True, block_elements=block)
    dense = head.dense(x, p, x, causal=True)
    assert torch.allclose(streamed, dense, rtol=0, atol=1e-12)


def test_causal_mask_hides_later_tokens(head: AttentionHead) -> None:
    x = gaussian((5, 6), 1)
    weights = head.attention_weights(x, inputs=x, causal=True)
    assert torch.all(weights.triu(diagonal=1) == 0)
    assert torch.allclose(weights.sum(-1), torch.ones(5, dtype=torch.float64))
    # The first query sees only itself, so the output is its own value.
    out = head(x, inputs=x, causal=True)
    assert torch.allclose(out[0], x[0] @ head.w_value.T, atol=1e-14)


def test_huge_scores_do_not_overflow() -> None:
    """Scores of order 1e5 overflow exp() in float64; log-sum-exp must handle them."""
    head = AttentionHead(torch.eye(2), 1e5 * torch.eye(2), torch.eye(2))
    q = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    prefix = torch.tensor([[1.0, 0.0], [0.999, 0.0447]], dtype=torch.float64)
    out = head(q, prefix, block_elements=1)
    assert torch.isfinite(out).all()
    # All weight goes to the first token, whose score is larger by 100.
    assert torch.allclose(out, prefix[:1], atol=1e-30)
    d = head.decompose(q, prefix, torch.tensor([[0.0, 1.0]]))
    assert d.rho.item() == pytest.approx(1.0, abs=1e-300)


def test_long_prefix_in_small_blocks_matches_dense(head: AttentionHead) -> None:
    q = gaussian((4, 6), 5)
    p = gaussian((20_000, 6), 6)
    assert torch.allclose(head(q, p, block_elements=1000), head.dense(q, p), rtol=0, atol=1e-12)


def test_attend_summarises_one_block(head: AttentionHead) -> None:
    q = gaussian((3, 6), 1)
    t = gaussian((10, 6), 2)
    part = head.attend(q, t, block_elements=4)
    scores = (q @ head.w_query.T) @ (t @ head.w_key.T).T
    assert torch.allclose(part.log_normaliser, torch.logsumexp(scores, -1), atol=1e-12)
    assert torch.allclose(part.output, head.dense(q, t), atol=1e-12)
    causal = head.attend(t, t, causal=True)
    assert torch.allclose(causal.output, head.dense(t, inputs=t, causal=True), atol=1e-12)


# ------------------------------------------------------- the decomposition lemma
@settings(max_examples=50, deadline=None)
@given(
    n_prefix=st.integers(1, 30),
    n_inputs=st.integers(1, 30),
    scale=st.sampled_from([0.3, 1.0, 4.0]),
    seed=st.integers(0, 2**16),
)
def test_prefix_decomposition_lemma(n_prefix, n_inputs, scale, seed):
    """H(x; P, X) = (1 - rho) H(x; X) + rho H(x; P), with each piece computed densely."""
    head = AttentionHead.random(5, 5, 4, seed=seed, scale=scale)
    q = gaussian((3, 5), seed + 1)
    p = gaussian((n_prefix, 5), seed + 2)
    x = gaussian((n_inputs, 5), seed + 3)
    d = head.decompose(q, p, x)
    assert isinstance(d, PrefixDecomposition)
    scores_p = (q @ head.w_query.T) @ (p @ head.w_key.T).T
    scores_x = (q @ head.w_query.T) @ (x @ head.w_key.T).T
    z_p = torch.logsumexp(scores_p, -1)
    z_x = torch.logsumexp(scores_x, -1)
    rho = torch.sigmoid(z_p - z_x)
    assert torch.allclose(d.rho, rho, atol=1e-14)
    assert torch.allclose(d.prefix_output, head.dense(q, p), atol=1e-12)
    assert torch.allclose(d.input_output, head.dense(q, inputs=x), atol=1e-12)
    recombined = (1 - rho)[:, None] * head.dense(q, inputs=x) + rho[:, None] * head.dense(q, p)
    assert torch.allclose(head.dense(q, p, x), recombined, rtol=0, atol=1e-12)
    assert torch.allclose(d.output, recombined, rtol=0, atol=1e-12)
    assert torch.all((d.rho >= 0) & (d.rho <= 1))  # in (0, 1) exactly; may round to 0 or 1


def test_prefix_does_not_change_relative_attention_over_inputs(head: AttentionHead) -> None:
    q = gaussian((4, 6), 1)
    p = gaussian((7, 6), 2)
    x = gaussian((5, 6), 3)
    with_prefix = head.attention_weights(q, p, x)[:, 7:]
    without = head.attention_weights(q, inputs=x)
    rho = head.decompose(q, p, x).rho
    assert torch.allclose(with_prefix, (1 - rho)[:, None] * without, atol=1e-14)


def test_decompose_with_one_part_missing(head: AttentionHead) -> None:
    q = gaussian((2, 6), 1)
    x = gaussian((4, 6), 2)
    only_inputs = head.decompose(q, None, x)
    assert torch.equal(only_inputs.rho, torch.zeros(2, dtype=torch.float64))
    assert torch.allclose(only_inputs.output, only_inputs.input_output)
    assert torch.equal(only_inputs.prefix_output, torch.zeros(2, 3, dtype=torch.float64))
    only_prefix = head.decompose(q, x, torch.zeros(0, 6))
    assert torch.equal(only_prefix.rho, torch.ones(2, dtype=torch.float64))


def test_merge_partial_is_associative_and_commutative() -> None:
    def block(seed: int) -> PartialAttention:
        return PartialAttention(gaussian((3,), seed, 10.0), gaussian((3, 2), seed + 100))

    a, b, c = block(1), block(2), block(3)
    left = merge_partial(merge_partial(a, b), c)
    right = merge_partial(a, merge_partial(b, c))
    swapped = merge_partial(b, a)
    ab = merge_partial(a, b)
    assert torch.allclose(left.output, right.output, atol=1e-13)
    assert torch.allclose(left.log_normaliser, right.log_normaliser, atol=1e-13)
    assert torch.allclose(swapped.output, ab.output, atol=1e-15)


def test_merge_partial_with_empty_blocks() -> None:
    empty = PartialAttention(torch.full((2,), -math.inf), torch.zeros(2, 1))
    full = PartialAttention(torch.tensor([0.5, -3.0]), torch.tensor([[1.0], [2.0]]))
    assert torch.equal(merge_partial(empty, full).output, full.output)
    both_empty = merge_partial(empty, empty)
    assert torch.equal(both_empty.output, torch.zeros(2, 1))
    assert torch.isneginf(both_empty.log_normaliser).all()


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ((np.eye(2), np.eye(3), np.eye(2)), "w_query and w_key"),
        ((np.eye(2), np.eye(2), np.ones((2, 3))), "w_value must have shape"),
        ((np.eye(2), np.eye(2), np.ones(2)), "w_value must have 2 dimensions"),
        ((np.full((2, 2), np.nan), np.eye(2), np.eye(2)), "must be finite"),
        ((np.zeros((0, 2)), np.zeros((0, 2)), np.eye(2)), "zero dimension"),
    ],
)
def test_bad_weights_raise_value_error(weights, message) -> None:
    with pytest.raises(ValueError, match=message):
        AttentionHead(*weights)


def test_bad_weight_types_raise_type_error() -> None:
    with pytest.raises(TypeError, match="real numbers"):
        AttentionHead(np.eye(2, dtype=complex), np.eye(2), np.eye(2))
    with pytest.raises(TypeError, match=r"torch\.Tensor, a NumPy array"):
        AttentionHead("eye", np.eye(2), np.eye(2))
    with pytest.raises(TypeError, match="real numbers"):
        AttentionHead(torch.ones(2, 2, dtype=torch.bool), np.eye(2), np.eye(2))


def test_bad_calls_raise_clear_errors(head: AttentionHead) -> None:
    q = gaussian((2, 6), 1)
    with pytest.raises(ValueError, match="last dimension 6"):
        head(gaussian((2, 5), 1), prefix=gaussian((3, 6), 2))
    with pytest.raises(ValueError, match="context is empty"):
        head(q)
    with pytest.raises(ValueError, match="must be finite"):
        head(q, prefix=torch.full((3, 6), float("nan")))
    with pytest.raises(ValueError, match="does not broadcast"):
        head(gaussian((2, 2, 6), 1), inputs=gaussian((3, 4, 6), 2))
    with pytest.raises(ValueError, match="one query per input"):
        head(q, inputs=gaussian((3, 6), 2), causal=True)
    with pytest.raises(ValueError, match="causal=True needs inputs"):
        head(q, prefix=gaussian((3, 6), 2), causal=True)
    with pytest.raises(ValueError, match="block_elements must be an integer >= 1"):
        head(q, prefix=gaussian((3, 6), 2), block_elements=0)
    with pytest.raises(TypeError, match="block_elements must be an integer"):
        head(q, prefix=gaussian((3, 6), 2), block_elements=2.5)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        head(torch.ones(6), prefix=gaussian((3, 6), 2))
    with pytest.raises(ValueError, match="tokens is empty"):
        head.attend(q, torch.zeros(0, 6))
    with pytest.raises(ValueError, match="Q == M"):
        head.attend(q, gaussian((3, 6), 2), causal=True)
    with pytest.raises(TypeError, match="seed must be an integer"):
        AttentionHead.random(3, 3, 3, seed=1.5)
    with pytest.raises(ValueError, match="d_model must be an integer >= 1"):
        AttentionHead.random(0, 3, 3, seed=1)
    with pytest.raises(TypeError, match="two PartialAttention"):
        merge_partial(1, 2)
    with pytest.raises(ValueError, match="same queries"):
        merge_partial(
            PartialAttention(torch.zeros(2), torch.zeros(2, 1)),
            PartialAttention(torch.zeros(3), torch.zeros(3, 1)),
        )
