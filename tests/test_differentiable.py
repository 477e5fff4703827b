"""The heads and the prefixed transformer are differentiable in the prefix tokens and the
inputs (float64, torch.autograd.gradcheck on small cases), as learning a prefix by gradient
descent needs; the streaming evaluation gives the same gradients as a dense softmax."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import prefix_approx as pa

f64 = torch.float64


def _random(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=f64).requires_grad_(True)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("block_elements", [2, 7, 2**21])
def test_attention_head_gradcheck(causal: bool, block_elements: int) -> None:
    head = pa.AttentionHead.random(4, 3, 2, seed=1)
    q, p, x = _random((2, 3, 4), 1), _random((5, 4), 2), _random((2, 3, 4), 3)

    def f(q, p, x):
        return head(q, p, x, causal=causal, block_elements=block_elements)

    assert torch.autograd.gradcheck(f, (q, p, x))


def test_streaming_gradients_equal_dense_gradients() -> None:
    head = pa.AttentionHead.random(6, 4, 3, seed=2)
    q, p, x = _random((3, 6), 4), _random((300, 6), 5), _random((3, 6), 6)
    streamed = torch.autograd.grad(head(q, p, x, block_elements=64).square().sum(), (q, p, x))
    dense = torch.autograd.grad(head.dense(q, p, x).square().sum(), (q, p, x))
    for a, b in zip(streamed, dense, strict=True):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_core_head_gradcheck_in_prefix_tokens_and_inputs() -> None:
    head = pa.CoreHead(2, 1)
    prefix = pa.core_prefix(pa.fibonacci_sphere(6), torch.linspace(-1, 1, 6)[:, None], 2.0)
    tokens = prefix.tokens.clone().requires_grad_(True)
    y = _random((2, 3, 3), 7)  # inputs as unnormalised vectors, put on the sphere inside

    def f(tokens, y):
        x = y / y.norm(dim=-1, keepdim=True)
        return head(x, dataclasses.replace(prefix, tokens=tokens), causal=True)

    assert torch.autograd.gradcheck(f, (tokens, y))


def test_core_prefix_with_requires_grad_gives_an_output_with_grad() -> None:
    """Raw tensors were detached and backward through a CorePrefix failed ("modified by an
    inplace operation")."""
    prefix = pa.core_prefix(pa.circle_points(7), torch.ones(7, 1), 3.0)
    tokens = prefix.tokens.clone().requires_grad_(True)
    out = pa.CoreHead(1, 1)(pa.circle_points(4)[None], dataclasses.replace(prefix, tokens=tokens))
    assert out.requires_grad
    out.sum().backward()
    assert tokens.grad is not None and torch.isfinite(tokens.grad).all()
    assert tokens.grad.abs().sum() > 0


def test_prefixed_transformer_gradcheck() -> None:
    model = pa.mixing_transformer(2)
    prefixes = pa.mixing_prefixes(model, lambda xj, m, j: (xj - m)[:, None], lipschitz=2, eps=0.5)
    tokens = prefixes.tokens[1][:30].clone().requires_grad_(True)
    x = torch.tensor([[0.2, 0.7], [0.9, 0.4]], dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t, x: model(x, [None, t]), (tokens, x))


def test_no_grad_path_is_unchanged_and_leaves_no_graph() -> None:
    head = pa.AttentionHead.random(4, 3, 2, seed=1)
    q, p = _random((2, 4), 1), _random((9, 4), 2)
    with torch.no_grad():
        out = head(q, p)
    assert not out.requires_grad
    assert torch.allclose(out, head(q.detach(), p.detach()), rtol=0, atol=1e-15)
