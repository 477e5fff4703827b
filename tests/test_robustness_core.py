"""Regression tests for the core head, attention and smooth-circle faults of the newcomer
review: each would have failed before its fix (a NaN, a runaway, a raw allocator error, an
unclear message or a search that gave up too early)."""

from __future__ import annotations

import inspect
import math
import time

import pytest
import torch

import prefix_approx as pa
from prefix_approx.bounds import (
    MAX_FOURIER_NORMS,
    _aliasing_reach,
    _smooth_bound_from_ratios,
)
from prefix_approx.core_head import MAX_BANDWIDTH, MAX_FOURIER_SAMPLES


def _cos(x: torch.Tensor) -> torch.Tensor:
    return x[:, :1]


def _circle(n: int) -> torch.Tensor:
    return pa.circle_points(n, offset=0.123)


# ------------------------------------------------------------- 1. control points of a zero key
def test_control_points_of_an_all_zero_key_row_is_a_clear_error() -> None:
    """A hand-made prefix with a zero key block returned NaN control points."""
    with pytest.raises(ValueError, match=r"row 0 .*all-zero key block.*control point"):
        _ = pa.CorePrefix(torch.zeros((3, 5), dtype=torch.float64), 1, 1, 1.0).control_points
    prefix = pa.core_prefix(pa.circle_points(4), torch.ones(4, 1), lam=2.0)
    tokens = prefix.tokens.clone()
    tokens[2, 2:4] = 0.0
    edited = pa.CorePrefix(tokens, 1, 1, 2.0)
    with pytest.raises(ValueError, match=r"row 2 \(of 4\)"):
        _ = edited.control_points
    assert torch.allclose(prefix.control_points, pa.circle_points(4), atol=1e-15)


# ----------------------------------------------- 2, 3, 5. the smooth-circle bound at scale
def _loop_aliasing_bound(
    a: torch.Tensor, rho: torch.Tensor, n_points: int, lam: float, max_len: int, bound: float
) -> float:
    """The bound with the aliasing sums taken one frequency at a time (the former loop)."""
    reach, _, tail = _aliasing_reach(a.shape[0], lam)
    window = rho[: reach + 1]
    alias = torch.full((a.shape[0],), tail, dtype=torch.float64)
    for n in range(a.shape[0]):
        above = window[n + n_points :: n_points].sum()
        below = window[n % n_points : n - n_points + 1 : n_points].sum() if n >= n_points else 0.0
        first = (n // n_points + 1) * n_points - n
        alias[n] += above + below + window[first::n_points].sum()
    alias_zero = float(2 * window[n_points::n_points].sum()) + tail
    if alias_zero >= 1:
        return math.inf
    log_i0 = math.log(float(torch.special.i0e(torch.tensor(lam, dtype=torch.float64)))) + lam
    inputs = bound * max_len * math.exp(-math.log(n_points) - log_i0)
    numerator = float((a * ((1 - rho[: a.shape[0]]) + alias + alias_zero)).sum()) + inputs
    return numerator / (1 - alias_zero)


@pytest.mark.parametrize("n_points", [1, 2, 3, 7, 16, 40, 500, 5000])
@pytest.mark.parametrize("lam", [0.5, 12.0, 300.0])
def test_vectorised_aliasing_sums_equal_the_frequency_by_frequency_sums(
    n_points: int, lam: float
) -> None:
    generator = torch.Generator().manual_seed(n_points)
    a = torch.rand(37, generator=generator, dtype=torch.float64)
    rho = pa.bessel_ratios(lam, _aliasing_reach(37, lam)[0] + 1)
    vectorised = _smooth_bound_from_ratios(a, rho, n_points=n_points, lam=lam, max_len=3, bound=1.5)
    looped = _loop_aliasing_bound(a, rho, n_points, lam, 3, 1.5)
    assert vectorised == pytest.approx(looped, rel=1e-13) or vectorised == looped == math.inf


def test_smooth_circle_prefix_at_bandwidth_2_16_is_fast_and_keeps_its_guarantee() -> None:
    """bandwidth=2**16 ran for more than 65 s (a Python loop over 65537 frequencies for each
    trial N)."""
    start = time.monotonic()
    prefix = pa.smooth_circle_prefix(_cos, eps=0.1, bound=1.0, max_len=2, bandwidth=2**16)
    assert time.monotonic() - start < 20
    assert prefix.guaranteed is not None and prefix.guaranteed <= 0.1
    x = _circle(4096).reshape(-1, 2, 2)
    assert pa.sup_error(_cos, prefix, x) <= prefix.guaranteed


def test_smooth_circle_bounds_with_many_norms_are_fast() -> None:
    """smooth_circle_parameters with 10^5 norms and smooth_circle_error_bound with 10^6 norms
    looped in Python for minutes."""
    start = time.monotonic()
    parameters = pa.smooth_circle_parameters([1e-9] * 10**5, eps=0.1, max_len=1, bound=2.0)
    value = pa.smooth_circle_error_bound([1e-9] * 10**6, n_points=10, lam=1.0, max_len=1, bound=1)
    assert time.monotonic() - start < 20
    assert parameters.guaranteed <= 0.1
    assert pa.smooth_circle_error_bound(
        [1e-9] * 10**5, n_points=parameters.n_points, lam=parameters.lam, max_len=1, bound=2.0
    ) == pytest.approx(parameters.guaranteed, rel=1e-12)
    assert 0 < value < 1


def test_too_many_fourier_norms_are_refused_with_the_limit() -> None:
    with pytest.raises(ValueError, match=r"fourier_norms has .* MAX_FOURIER_NORMS"):
        pa.smooth_circle_parameters(
            torch.zeros(MAX_FOURIER_NORMS + 1), eps=0.1, max_len=1, bound=1.0
        )
    with pytest.raises(ValueError, match=r"fourier_norms has 10000000 entries.*order"):
        pa.smooth_circle_error_bound(torch.zeros(10**7), n_points=10, lam=1.0, max_len=1, bound=1)


def test_bandwidth_and_sample_limits_agree_with_the_docs() -> None:
    """bandwidth=2**19 and circle_fourier_norms(n_samples=2**22) hit circle_points' default
    max_points although the docs promised bandwidths up to 2^20."""
    assert MAX_BANDWIDTH == 2**20 and MAX_FOURIER_SAMPLES == 2**23
    norms = pa.circle_fourier_norms(_cos, n_samples=2**22)
    assert norms.shape == (2,) and float(norms[1]) == pytest.approx(1.0, abs=1e-12)
    prefix = pa.smooth_circle_prefix(_cos, eps=0.1, bound=1.0, max_len=1, bandwidth=2**19)
    assert pa.sup_error(_cos, prefix, _circle(2048)[:, None]) <= prefix.guaranteed
    with pytest.raises(ValueError, match=r"bandwidth must be .*1048576"):
        pa.smooth_circle_prefix(_cos, eps=0.1, bound=1.0, max_len=1, bandwidth=2**20 + 1)
    with pytest.raises(ValueError, match=r"n_samples must be at most MAX_FOURIER_SAMPLES.*GiB"):
        pa.circle_fourier_norms(_cos, n_samples=2**24)


# ---------------------------------------------------------------- 4. the lam search
def test_lam_search_does_not_give_up_at_the_first_lam() -> None:
    """With B = 1e6 the first lam of the grid needs N > 10^5 (the input term), and the search
    stopped there with 'raise max_points', although N = 16 at lam = 19 reaches eps."""
    parameters = pa.smooth_circle_parameters([0.0, 1.0], eps=0.1, max_len=2, bound=1e6)
    assert parameters.n_points <= 16 and parameters.guaranteed <= 0.1
    assert pa.smooth_circle_error_bound(
        [0.0, 1.0], n_points=parameters.n_points, lam=parameters.lam, max_len=2, bound=1e6
    ) == pytest.approx(parameters.guaranteed, rel=1e-12)
    # No smaller N reaches eps anywhere on the lam grid up to 10^4 (where the aliasing of
    # N - 1 points alone is far above eps).
    lam, step = 1.0, 2 ** (1 / 8)
    while lam < 1e4:
        for n in range(1, parameters.n_points):
            bound = pa.smooth_circle_error_bound(
                [0.0, 1.0], n_points=n, lam=lam, max_len=2, bound=1e6
            )
            assert bound > 0.1, (n, lam)
        lam *= step
    long = pa.smooth_circle_parameters([0.0, 1.0], eps=0.1, max_len=10**9, bound=1.0)
    assert long.guaranteed <= 0.1


def test_too_few_tokens_names_the_keyword_of_the_caller() -> None:
    """smooth_circle_prefix advised 'raise max_points', a keyword it does not have."""
    with pytest.raises(ValueError, match=r"no N <= 3 .*raise max_tokens \(now 3\)") as caught:
        pa.smooth_circle_prefix(_cos, eps=0.1, bound=1.0, max_len=2, bandwidth=1, max_tokens=3)
    assert "max_points" not in str(caught.value)
    with pytest.raises(ValueError, match="raise max_points"):
        pa.smooth_circle_parameters([0.0, 1.0], eps=0.1, max_len=2, bound=1.0, max_points=3)


# ------------------------------------------------------------ 6. weights past a budget
def test_huge_heads_are_refused_with_their_size_before_allocating() -> None:
    """CoreHead(10**5, 1) and AttentionHead.random(10**5, 10**5, 1) raised raw allocator
    errors (300 GB and 150 GB of weights)."""
    with pytest.raises(ValueError, match=r"CoreHead\(m=100000, k=1\).*298 GiB.*max_weights"):
        pa.CoreHead(10**5, 1)
    with pytest.raises(ValueError, match=r"AttentionHead.random.*149 GiB.*max_weights"):
        pa.AttentionHead.random(10**5, 10**5, 1, seed=0)
    with pytest.raises(ValueError, match="max_weights"):
        pa.CoreHead(3, 1, max_weights=10)
    head = pa.CoreHead(3, 2, max_weights=100)
    assert torch.equal(head.w_query, torch.eye(4, 10, dtype=torch.float64))
    assert torch.equal(head.w_key[:, 4:8], torch.eye(4, dtype=torch.float64))
    assert torch.equal(head.w_value[:, 8:], torch.eye(2, dtype=torch.float64))
    assert float(head.w_key.abs().sum()) == 4 and float(head.w_value.abs().sum()) == 2
    with pytest.raises(TypeError, match="max_weights"):
        pa.AttentionHead.random(4, 2, 2, seed=0, max_weights=1.5)  # type: ignore[arg-type]


# ------------------------------------------------------------------ 7. sup_error, empty x
@pytest.mark.parametrize("shape", [(0, 1, 2), (3, 0, 2)])
def test_sup_error_of_no_points_is_a_clear_error(shape: tuple[int, ...]) -> None:
    prefix = pa.build_prefix(_cos, m=1, eps=0.5, bound=1.0, max_len=3, lipschitz=1.0)
    with pytest.raises(ValueError, match=r"x has no points"):
        pa.sup_error(_cos, prefix, torch.zeros(shape, dtype=torch.float64))


# ------------------------------------------------------- 9. method-level "Used in" lines
@pytest.mark.parametrize("cls", [pa.CoreHead, pa.AttentionHead, pa.CorePrefix])
def test_methods_leave_used_in_to_their_class(cls: type) -> None:
    """Method docstrings named chapters by title, untested (and wrong); the class's line is
    derived from the notebooks by tests/test_catalogue.py and covers its methods."""
    for name, member in vars(cls).items():
        function = getattr(member, "__func__", getattr(member, "fget", member))
        doc = inspect.getdoc(function) if callable(function) else None
        assert doc is None or "Used in" not in doc, f"{cls.__name__}.{name}"
    assert "Used in: book/" in (cls.__doc__ or "") or "Used in: no chapter" in cls.__doc__


# ----------------------------------------------------------- 10. gradients in x
def test_gradcheck_in_x_goes_through_an_angle() -> None:
    """gradcheck in x itself steps off the sphere and is refused (documented); through the
    angle t of x = (cos t, sin t) it passes."""
    prefix = pa.core_prefix(pa.circle_points(5), torch.arange(5.0)[:, None], 2.0)
    head = pa.CoreHead(1, 1)
    angles = torch.tensor([[0.3, 1.7, 4.0]], dtype=torch.float64, requires_grad=True)

    def on_circle(t: torch.Tensor) -> torch.Tensor:
        return head(torch.stack((torch.cos(t), torch.sin(t)), dim=-1), prefix)

    assert torch.autograd.gradcheck(on_circle, (angles,))
    x = pa.circle_points(3)[None].clone().requires_grad_()
    with pytest.raises(ValueError, match="sphere"):
        torch.autograd.gradcheck(lambda x: head(x, prefix), (x,))
    assert "gradcheck" in (pa.CoreHead.forward.__doc__ or "")
