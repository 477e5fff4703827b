"""Objects a user builds or edits (prefix objects, partial results, representations,
transformer prefixes) are checked where they are consumed, with the messages of the
plain-tensor path; a NaN reaching a head's streaming softmax comes out as NaN, never as a
number."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import prefix_approx as pa


@settings(max_examples=40, deadline=None)
@given(
    n_tokens=st.integers(1, 600),
    where=st.floats(0.0, 1.0, exclude_max=True),
    column=st.sampled_from([2, 3, 4]),
    block=st.sampled_from([1, 7, 64, 2**21]),
)
def test_a_nan_in_the_streaming_softmax_comes_out_as_nan(n_tokens, where, column, block):
    """Scores (key columns 2, 3) or values (column 4) with one NaN, in any block size."""
    head = pa.CoreHead(1, 1)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=torch.float64)
    tokens = pa.core_prefix(pa.circle_points(n_tokens), torch.ones(n_tokens, 1), 5.0).tokens
    tokens = tokens.clone()
    tokens[int(where * n_tokens), column] = math.nan
    partial = head.head._stream(head.embed(x), tokens, causal=False, block_elements=block)
    assert torch.isnan(partial.output).all()
    # And through the public path it is an error, never an ordinary-looking number.
    with pytest.raises(ValueError, match="prefix must be finite"):
        head(x, tokens)


def test_merge_partial_propagates_nan_and_checks_shapes() -> None:
    nan = pa.PartialAttention(torch.tensor([math.nan]), torch.tensor([[1.0]]))
    ok = pa.PartialAttention(torch.tensor([0.0]), torch.tensor([[2.0]]))
    assert torch.isnan(pa.merge_partial(nan, ok).output).all()
    bad = pa.PartialAttention(torch.tensor([0.0, 0.0]), torch.tensor([[2.0]]))
    with pytest.raises(ValueError, match=r"second: log_normaliser must have shape"):
        pa.merge_partial(ok, bad)


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda t: t.float(), None, None),
        (lambda t: t.to(torch.float16), None, None),
        (lambda t: t[:, :-1], ValueError, r"prefix tokens must have 5 = 2\(m\+1\) \+ k columns"),
        (lambda t: t[:0], ValueError, "the prefix is empty"),
        (lambda t: t.to(torch.complex128), TypeError, "prefix must hold real numbers"),
        (lambda t: t.numpy()[::-1].copy()[::-1], None, None),
        (lambda t: t.tolist(), None, None),
    ],
)
def test_an_edited_core_prefix_is_checked_like_a_plain_tensor(edit, error, message) -> None:
    prefix = pa.core_prefix([[1, 0], [0, 1]], [[1], [3]], 1.0)
    edited = dataclasses.replace(prefix, tokens=edit(prefix.tokens))
    head, x = pa.CoreHead(1, 1), [[[1.0, 0.0]]]
    if error is None:
        # float16 rounds lam c and v exactly here (0, 1 and 3 are representable)
        assert float(head(x, edited)[0, 0, 0]) == pytest.approx(
            (math.e + 3) / (math.e + 2), rel=1e-15
        )
        return
    for value in (edited, edited.tokens):
        with pytest.raises(error, match=message):
            head(x, value)


def test_edited_transformer_prefixes_are_checked_like_plain_tensors() -> None:
    """Edited tokens carry no guarantee: a TransformerPrefixes refuses them (its fingerprint
    no longer matches), and passed as a list they are checked like plain tensors."""
    model = pa.mixing_transformer(2)
    prefixes = pa.mixing_prefixes(model, lambda xj, m, j: xj[:, None], lipschitz=1, eps=0.5)
    x = torch.tensor([[0.2, 0.7]], dtype=torch.float64)
    expected = model(x, prefixes)
    as_float32 = tuple(None if t is None else t.float() for t in prefixes.tokens)
    with pytest.raises(ValueError, match="fingerprint"):
        dataclasses.replace(prefixes, tokens=as_float32)
    assert torch.allclose(model(x, list(as_float32)), expected, atol=1e-6)
    broken = prefixes.tokens[1].clone()
    broken[0, 0] = math.nan
    with pytest.raises(ValueError, match="fingerprint"):
        dataclasses.replace(prefixes, tokens=(None, broken))
    with pytest.raises(ValueError, match="prefix of layer apply must be finite"):
        model(x, [None, broken])


# ---- found by a newcomer's second look (issue 14) -------------------------------------------
def test_ka_prefixes_for_beta_710_is_a_clear_error() -> None:
    """The representation builds at beta = 710, but its prefixes raised OverflowError (cannot
    convert float infinity to integer) while sizing their grid."""
    rep = pa.ka_log_sum_exp(2, beta=710.0)
    with pytest.raises(ValueError, match="cells per axis"):
        pa.ka_prefixes(pa.ka_transformer(2), rep, eps=0.5)


def test_bessel_ratios_beyond_1e9_are_refused_not_nan() -> None:
    """scipy's ive returns NaN from about 1.07e9: bessel_ratios(2e9, 3) returned NaNs."""
    with pytest.raises(ValueError, match="lam must be at most"):
        pa.bessel_ratios(2e9, 3)
    assert torch.isfinite(pa.bessel_ratios(1e9, 3)).all()


@pytest.mark.parametrize("kind", ["list", "numpy", "int64"])
def test_edited_core_prefix_tokens_read_back(kind: str) -> None:
    """control_points and values crashed with raw torch errors on replaced tokens."""
    p = pa.core_prefix([[1, 0], [0, 1]], [[1], [3]], 1.0)
    tokens = {"list": p.tokens.tolist(), "numpy": p.tokens.numpy(), "int64": p.tokens.long()}
    q = dataclasses.replace(p, tokens=tokens[kind])
    assert torch.equal(q.control_points, p.control_points)
    assert torch.equal(q.values, p.values)


@pytest.mark.parametrize("max_len", [float("nan"), True, "3", 0])
def test_edited_max_len_is_checked(max_len: object) -> None:
    """A replaced max_len of NaN or True was ignored; '3' raised a raw comparison error."""
    p = pa.core_prefix([[1, 0], [0, 1]], [[1], [3]], 1.0)
    with pytest.raises((TypeError, ValueError), match=r"prefix\.max_len"):
        pa.CoreHead(1, 1)([[[1.0, 0.0]]], dataclasses.replace(p, max_len=max_len))


def test_merge_partial_refuses_an_infinite_log_normaliser() -> None:
    part = pa.PartialAttention
    with pytest.raises(ValueError, match=r"\+inf"):
        pa.merge_partial(
            part(torch.tensor([math.inf]), torch.ones((1, 1))),
            part(torch.tensor([0.0]), torch.ones((1, 1))),
        )


def test_sparse_and_meta_tensors_are_named() -> None:
    eye = torch.eye(2, dtype=torch.float64)
    with pytest.raises(TypeError, match="x must be a dense tensor"):
        pa.geodesic_distance(eye.to_sparse(), eye)
    with pytest.raises(ValueError, match="x is a meta tensor"):
        pa.geodesic_distance(torch.empty((2, 2), device="meta"), eye)
    with pytest.raises(ValueError, match="at least 1 dimensions"):
        pa.geodesic_distance(1.0, eye)  # a Python scalar as a NumPy scalar would be
