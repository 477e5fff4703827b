"""Regression tests for silent wrong answers and runaways found by probing the public API
(issue "A package that never answers wrongly in silence"), each named after its fault and
asserting the right value, plus property tests of the kinds they belong to.

References are computed independently: closed forms, or mpmath at 40 digits (mpmath comes
with torch, through sympy).
"""

from __future__ import annotations

import dataclasses
import math
import time

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import prefix_approx as pa

mpmath.mp.dps = 40
f64 = torch.float64


# ------------------------------------------------- combining blocks with huge normalisers
def test_head_with_huge_equal_scores_splits_attention_evenly() -> None:
    """Query, prefix and input all 1e9 gave 2e9 (exact 1e9) and rho 1.0 (exact 0.5)."""
    head = pa.AttentionHead([[1.0]], [[1.0]], [[1.0]])
    parts = head.decompose([[1e9]], [[1e9]], [[1e9]])
    assert float(parts.output[0, 0]) == pytest.approx(1e9, rel=1e-15)
    assert float(parts.rho[0]) == pytest.approx(0.5, rel=1e-15)


def test_merge_partial_of_blocks_with_log_normaliser_1e308() -> None:
    """Two blocks with log Z = 1e308 and outputs 1 and 3 gave 4.0 (exact 2.0)."""
    big = torch.tensor([1e308], dtype=torch.float64)
    first = pa.PartialAttention(big, torch.tensor([[1.0]], dtype=torch.float64))
    second = pa.PartialAttention(big, torch.tensor([[3.0]], dtype=torch.float64))
    assert float(pa.merge_partial(first, second).output[0, 0]) == 2.0


@settings(max_examples=60, deadline=None)
@given(
    log_z1=st.floats(-1e308, 1e308),
    shift=st.floats(-50.0, 50.0),
    h1=st.floats(-10.0, 10.0),
    h2=st.floats(-10.0, 10.0),
)
def test_merge_partial_weights_depend_only_on_the_difference(log_z1, shift, h1, h2) -> None:
    log_z2 = log_z1 + shift
    if not math.isfinite(log_z2):
        return
    merged = pa.merge_partial(
        pa.PartialAttention(torch.tensor([log_z1], dtype=f64), torch.tensor([[h1]], dtype=f64)),
        pa.PartialAttention(torch.tensor([log_z2], dtype=f64), torch.tensor([[h2]], dtype=f64)),
    )
    weight = 1 / (1 + mpmath.exp(mpmath.mpf(log_z2) - mpmath.mpf(log_z1)))
    exact = float(weight * h1 + (1 - weight) * h2)
    assert float(merged.output[0, 0]) == pytest.approx(exact, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("scale", [1e155, 1e200, -1e200])
def test_scores_that_overflow_from_finite_weights_are_an_error(scale) -> None:
    """Weights 1e200 gave NaN; scores of about -1e400 gave 0."""
    head = pa.AttentionHead([[scale]], [[abs(scale)]], [[1.0]])
    with pytest.raises(ValueError, match=r"attention scores .* overflow float64"):
        head([[1e3]], [[1e3], [2e3]], [[1.0]])
    with pytest.raises(ValueError, match="overflow float64"):
        head.dense([[1e3]], [[1e3], [2e3]], [[1.0]])


def test_large_but_finite_scores_still_work() -> None:
    head = pa.AttentionHead([[1.0]], [[1.0]], [[1.0]])
    out = head([[1e150]], [[1e150], [-1e150]], [[1.0]])
    assert float(out[0, 0]) == 1e150


# -------------------------------------------------------- density parameters, cancellation
def _exact_density_bound(p: pa.DensityParameters, bound: float, max_len: int) -> float:
    r, s, lam = mpmath.mpf(p.radius), 2 * mpmath.mpf(p.delta), mpmath.mpf(p.lam)
    far = 2 * bound * p.n_points * mpmath.exp(-lam * (mpmath.cos(r) - mpmath.cos(s)))
    inputs = bound * max_len * mpmath.exp(-lam * mpmath.cos(r))
    return float(p.near_error + far + inputs)


def test_density_parameters_at_tiny_delta_report_the_exact_bound() -> None:
    """delta = 1e-8, radius 0.9e-8 reported 0.025 while the exact bound at its lam was 0.314
    (cos r - cos 2 delta cancels); delta = radius = 1e-9 divided by zero."""
    for delta, radius in ((1e-8, 0.9e-8), (1e-9, 1e-9)):
        p = pa.density_parameters(
            eps=0.1,
            near_error=0.0,
            delta=delta,
            bound=1.0,
            n_points=100,
            radius=radius,
            max_len=4,
        )
        exact = _exact_density_bound(p, 1.0, 4)
        assert p.guaranteed == pytest.approx(exact, rel=1e-9)
        assert exact <= 0.1


@settings(max_examples=60, deadline=None)
@given(
    log_delta=st.floats(-12.0, math.log10(math.pi / 4)),
    fraction=st.floats(0.01, 1.0),
    n_points=st.integers(1, 10**9),
)
def test_density_guarantee_is_the_exact_bound_at_every_scale(log_delta, fraction, n_points):
    delta = 10**log_delta
    p = pa.density_parameters(
        eps=0.1,
        near_error=0.01,
        delta=delta,
        bound=2.0,
        n_points=n_points,
        radius=fraction * delta,
        max_len=7,
    )
    assert p.guaranteed == pytest.approx(_exact_density_bound(p, 2.0, 7), rel=1e-9)
    assert p.guaranteed <= 0.1 * (1 + 1e-12)


# -------------------------------------------------------------- sphere and special functions
def test_circle_points_with_offset_1e17_are_distinct_and_equally_spaced() -> None:
    points = pa.circle_points(8, offset=1e17)
    gaps = pa.geodesic_distance(points, points.roll(-1, dims=0))
    assert torch.allclose(gaps, torch.full((8,), math.pi / 4, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("m", [1, 2, 5, 100, 1000, 5000])
@pytest.mark.parametrize("radius", [1e-3, 0.3, 1.5, 2.9])
def test_cap_fraction_matches_the_incomplete_beta_function(m, radius) -> None:
    """For m >= 1000 a 64-point quadrature was off by 7%."""
    # The regularised incomplete beta function in mpmath (40 digits), for the smaller cap.
    r = mpmath.mpf(min(radius, math.pi - radius))
    small = mpmath.betainc(m / mpmath.mpf(2), 0.5, 0, mpmath.sin(r) ** 2, regularized=True) / 2
    exact = float(small if radius <= math.pi / 2 else 1 - small)
    assert pa.cap_fraction(m, radius) == pytest.approx(exact, rel=1e-9, abs=1e-300)


def test_bessel_ratios_at_lam_1e9_are_fast_and_right() -> None:
    """bessel_ratios(1e9, 5) allocated 7 GB, then failed after 49 s."""
    start = time.perf_counter()
    ratios = pa.bessel_ratios(1e9, 5)
    assert time.perf_counter() - start < 1.0
    exact = [float(mpmath.besseli(n, 10**9) / mpmath.besseli(0, 10**9)) for n in range(6)]
    assert ratios.tolist() == pytest.approx(exact, rel=1e-12)
    with pytest.raises(ValueError, match="n_max must be at most"):
        pa.bessel_ratios(1.0, 10**9)


# ----------------------------------------------------------------- settings and metadata
def test_print_digits_must_be_a_sensible_count() -> None:
    """print_digits=-1 was accepted and broke every later NumPy print."""
    before = np.get_printoptions()
    for bad, error in ((-1, ValueError), (0, ValueError), (40, ValueError), (2.5, TypeError)):
        with pytest.raises(error, match="print_digits"):
            pa.set_deterministic_defaults(print_digits=bad)
    assert np.get_printoptions() == before


def test_package_versions_of_a_generator_is_a_type_error() -> None:
    """A generator was consumed by the type check and {} returned."""
    with pytest.raises(TypeError, match="got generator"):
        pa.package_versions(name for name in ["numpy"])
    assert pa.package_versions(["numpy"]) == {"numpy": np.__version__}


# ------------------------------------------------------------------ guarantees need facts
def test_smooth_prefix_of_cos_4096_theta_needs_a_stated_spectrum() -> None:
    """Without Fourier norms an FFT at 4096 points folded cos(4096 t) onto a constant: N = 9
    with 'guaranteed' 0.0097 while the error was 1.884."""

    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.cos(4096 * torch.atan2(x[:, 1], x[:, 0]))[:, None]

    with pytest.raises(ValueError, match="give exactly one of fourier_norms"):
        pa.smooth_circle_prefix(f, eps=1e-2, bound=1.0, max_len=2)
    with pytest.raises(ValueError, match="not a trigonometric polynomial of degree <= bandwidth"):
        pa.smooth_circle_prefix(f, eps=1e-2, bound=1.0, max_len=2, bandwidth=10)


def test_smooth_prefix_with_a_stated_bandwidth_meets_its_guarantee() -> None:
    """cos t + 0.5 cos(K t) with K stated: the guarantee holds on a dense grid."""

    def f(x: torch.Tensor) -> torch.Tensor:
        t = torch.atan2(x[:, 1], x[:, 0])
        return (torch.cos(t) + 0.5 * torch.cos(12 * t))[:, None]

    prefix = pa.smooth_circle_prefix(f, eps=0.3, bound=1.5, max_len=2, bandwidth=12)
    grid = pa.circle_points(2**14, offset=1e-5).reshape(-1, 2, 2)
    assert pa.sup_error(f, prefix, grid) <= prefix.guaranteed <= 0.3


def test_runaway_sizes_are_refused_at_once_with_the_estimate() -> None:
    cases = [
        lambda: pa.build_prefix(lambda x: x[:, :1], m=3, eps=1e-6, lipschitz=1, bound=1, max_len=2),
        lambda: pa.build_prefix(lambda x: x[:, :1], m=20, eps=0.5, lipschitz=1, bound=1, max_len=2),
        lambda: pa.build_prefix(
            lambda x: x[:, :1], m=1, eps=1e-12, lipschitz=1, bound=1, max_len=2
        ),
        lambda: pa.delta_net(10, 0.5),  # (pi/4 fits: 3 cells per edge, 1.3 million points)
        lambda: pa.gather_prefixes(
            pa.gather_transformer(4), lambda x: x[..., None], lipschitz=1.0, eps=1e-3
        ),
        lambda: pa.smooth_circle_prefix(
            lambda x: x[:, :1], eps=1e-9, bound=1.0, max_len=2, bandwidth=1
        ),
    ]
    for case in cases:
        start = time.perf_counter()
        with pytest.raises(ValueError, match=r"max_points|max_tokens|larger eps"):
            case()
        assert time.perf_counter() - start < 5.0


# ------------------------------------------------------------- prefixes and their models
def test_prefixes_of_one_mixing_model_are_refused_by_another() -> None:
    """Prefixes of mixing_transformer(2) ran on mixing_transformer(3): error 1.00 against a
    guarantee of 0.225."""
    prefixes = pa.mixing_prefixes(
        pa.mixing_transformer(2), lambda xj, m, j: (xj - m)[:, None], lipschitz=2, eps=0.5
    )
    with pytest.raises(ValueError, match=r"built for the 'mixing' route with n = 2"):
        pa.mixing_transformer(3)(torch.rand(2, 3, dtype=torch.float64), prefixes)


@pytest.mark.parametrize("builder", ["gather", "mixing", "ka"])
def test_a_false_lipschitz_constant_is_refused(builder: str) -> None:
    """lipschitz=0.0 on a non-constant target reported 0.075 and erred by 0.50."""
    with pytest.raises(ValueError, match="is not 0-Lipschitz as claimed"):
        if builder == "gather":
            pa.gather_prefixes(
                pa.gather_transformer(2), lambda x: x[..., None], lipschitz=0.0, eps=0.3
            )
        elif builder == "mixing":
            pa.mixing_prefixes(
                pa.mixing_transformer(2), lambda xj, m, j: xj[:, None], lipschitz=0.0, eps=0.3
            )
        else:
            rep = pa.ka_centering(2)
            lying = dataclasses.replace(rep, inner_lipschitz={q: 0.0 for q in rep.terms})
            pa.ka_prefixes(pa.ka_transformer(2), lying, eps=0.5)


def test_sequences_longer_than_the_prefix_max_len_are_refused() -> None:
    """2 * 10^6 tokens on a max_len = 2 prefix gave 2.75 against 1.5."""
    prefix = pa.build_prefix(lambda x: x[:, :1], m=1, eps=0.3, lipschitz=1, bound=1, max_len=2)
    with pytest.raises(ValueError, match="guarantees its error only for T <= max_len = 2"):
        pa.CoreHead(1, 1)(pa.circle_points(3), prefix)


def test_causal_must_be_a_bool() -> None:
    prefix = pa.core_prefix(pa.circle_points(4), torch.ones(4, 1), 2.0)
    with pytest.raises(TypeError, match="causal must be True or False; got str 'no'"):
        pa.CoreHead(1, 1)(pa.circle_points(2), prefix, causal="no")


def test_float32_unit_vectors_are_accepted_as_sphere_points() -> None:
    x = torch.tensor([[0.6, 0.8], [1 / math.sqrt(2), 1 / math.sqrt(2)]], dtype=torch.float32)
    assert torch.allclose(pa.geodesic_distance(x, x), torch.zeros(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="Normalise it in float64"):
        pa.geodesic_distance(x * 1.001, x)


def test_empty_queries_give_empty_outputs() -> None:
    prefix = pa.core_prefix(pa.circle_points(4), torch.ones(4, 1), 2.0)
    assert pa.CoreHead(1, 1)(torch.zeros(0, 2), prefix).shape == (0, 1)
    head = pa.AttentionHead.random(4, 2, 3, seed=0)
    assert head(torch.zeros(0, 4), torch.ones(2, 4)).shape == (0, 3)


def test_max_len_of_10_to_400_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"max_len must be an integer <= about 10\^300"):
        pa.build_prefix(lambda x: x[:, :1], m=1, eps=0.3, lipschitz=1, bound=1, max_len=10**400)


# ------------------------------------------------- second round of probes (issue 9, session 16)
def test_average_of_two_values_of_1_5e308_is_1_5e308() -> None:
    """Zero scores and two values 1.5e308: the unnormalised sum overflowed to inf."""
    head = pa.AttentionHead([[0.0]], [[0.0]], [[1.0]])
    out = head([[1.0]], [[1.5e308], [1.5e308]], None)
    assert out.item() == 1.5e308


@given(
    exponent=st.integers(min_value=-300, max_value=307),
    n=st.integers(min_value=1, max_value=40),
    seed=st.integers(min_value=0, max_value=2**16),
)
@settings(max_examples=60, deadline=None)
def test_a_softmax_average_never_leaves_the_values_range(exponent: int, n: int, seed: int) -> None:
    """The head's output is a convex combination of the values: it stays within their range
    at every magnitude float64 holds, never inf."""
    generator = torch.Generator().manual_seed(seed)
    values = torch.rand((n, 1), generator=generator, dtype=f64) * 1.7 * 10.0**exponent
    keys = torch.randn((n, 1), generator=generator, dtype=f64)
    head = pa.AttentionHead([[1.0, 0.0]], [[1.0, 0.0]], [[0.0, 1.0]])
    out = head([[1.0, 0.0]], torch.cat((keys, values), dim=1), None).item()
    assert math.isfinite(out)
    assert values.min().item() * (1 - 1e-12) <= out <= values.max().item() * (1 + 1e-12)


def test_merge_partial_of_integer_tensors_is_2() -> None:
    """int64 tensors failed inside logaddexp; they are converted: (1 + 3) / 2 = 2."""
    part = pa.PartialAttention
    merged = pa.merge_partial(
        part(torch.tensor([0]), torch.tensor([[1]])), part(torch.tensor([0]), torch.tensor([[3]]))
    )
    assert merged.output.dtype == f64 and merged.output.item() == 2.0
    assert merged.log_normaliser.item() == pytest.approx(math.log(2.0), rel=1e-15)


def test_merge_partial_of_lists_names_the_field() -> None:
    """Lists failed with AttributeError: 'list' object has no attribute 'shape'."""
    with pytest.raises(TypeError, match=r"first\.log_normaliser must be a real torch tensor"):
        pa.merge_partial(pa.PartialAttention([0.0], [[1.0]]), pa.PartialAttention([0.0], [[3.0]]))


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), -1.0, "big", 1j])
def test_random_head_names_a_bad_scale(scale: object) -> None:
    """NaN and inf scales failed as 'w_query must be finite'; strings in float()."""
    with pytest.raises((TypeError, ValueError), match="scale"):
        pa.AttentionHead.random(3, 2, 2, seed=0, scale=scale)  # type: ignore[arg-type]


def test_control_points_read_back_at_lam_1e308() -> None:
    """The key block's norm overflowed at lam = 1e308 and the points read back as 0."""
    points = pa.circle_points(5, offset=0.1)
    prefix = pa.core_prefix(points, torch.ones((5, 1), dtype=f64), 1e308)
    assert torch.allclose(prefix.control_points, points, rtol=1e-14, atol=1e-15)


def test_core_prefix_refuses_a_lam_whose_keys_underflow() -> None:
    """lam = 5e-324 turned the keys into 0 and the control points into NaN."""
    points = pa.circle_points(5, offset=0.1)
    with pytest.raises(ValueError, match="lam must be >= 1e-300"):
        pa.core_prefix(points, torch.ones((5, 1), dtype=f64), 5e-324)
    prefix = pa.core_prefix(points, torch.ones((5, 1), dtype=f64), 1e-300)
    assert torch.allclose(prefix.control_points, points, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda: pa.circle_points(2**40),
        lambda: pa.fibonacci_sphere(10**9),
        lambda: pa.random_sphere_points(10**8, 3, seed=0),
    ],
)
def test_point_sets_past_the_budget_are_refused_at_once(call) -> None:  # type: ignore[no-untyped-def]
    """circle_points(2**40) allocated until it was killed."""
    start = time.perf_counter()
    with pytest.raises(ValueError, match="more than max_points"):
        call()
    assert time.perf_counter() - start < 1.0


def test_covering_number_lower_bound_of_a_vanishing_cap() -> None:
    """m = 1000, delta = 1e-3: the cap fraction underflowed and 1 / 0 raised ZeroDivisionError."""
    assert 10**3001 < pa.covering_number_lower_bound(1000, 1e-3) < 10**3002
    with pytest.raises(ValueError, match="covers less than a 10\\^4000th"):
        pa.covering_number_lower_bound(1000, 1e-5)
    with pytest.raises(ValueError, match="delta"):
        pa.covering_number_lower_bound(2, 0.0)
    assert pa.covering_number_lower_bound(2, math.pi) == 1


@pytest.mark.parametrize("returned", ["small", None])
def test_a_modulus_that_returns_no_number_is_named(returned: object) -> None:
    with pytest.raises(TypeError, match="modulus must return a real number"):
        pa.modulus_delta(lambda t: returned, eps=0.1)


@pytest.mark.parametrize("timeout", ["soon", -5, True, float("nan")])
def test_execute_and_measure_names_a_bad_timeout(timeout: object, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import nbformat

    path = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    with pytest.raises((TypeError, ValueError), match="timeout"):
        pa.execute_and_measure(path, timeout=timeout)  # type: ignore[arg-type]


def test_circle_points_at_offset_1e17_rotate_by_the_exact_angle() -> None:
    """Reducing 1e17 modulo a rounded 2 pi was off by about 1.85 radians."""
    points = pa.circle_points(8, offset=1e17)
    angle = mpmath.mpf(10) ** 17
    assert points[0, 0].item() == pytest.approx(float(mpmath.cos(angle)), abs=1e-15)
    assert points[0, 1].item() == pytest.approx(float(mpmath.sin(angle)), abs=1e-15)
    third = angle + 2 * mpmath.pi * 3 / 8
    assert points[3, 0].item() == pytest.approx(float(mpmath.cos(third)), abs=1e-15)
    assert torch.equal(pa.circle_points(4, offset=0.1), pa.circle_points(4, offset=0.1))


def test_package_versions_refuses_an_empty_name() -> None:
    with pytest.raises(ValueError, match="empty distribution names"):
        pa.package_versions(["numpy", ""])


def test_mixing_prefixes_names_an_apply_that_is_not_a_function() -> None:
    with pytest.raises(TypeError, match="apply must be a function"):
        pa.mixing_prefixes(pa.mixing_transformer(2), None, lipschitz=1.0, eps=0.5)


def test_build_prefix_refuses_cos_20_theta_claimed_0_01_lipschitz() -> None:
    """At eps = 0.1 the net has 4 points, where cos(20 theta) is constant; the guarantee was
    0.053 and the error 2. The midpoint check sees the oscillation."""

    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.cos(20 * torch.atan2(x[:, 1], x[:, 0]))[:, None]

    with pytest.raises(ValueError, match=r"f is not 0\.01-Lipschitz"):
        pa.build_prefix(f, m=1, eps=0.1, bound=1.0, max_len=4, lipschitz=0.01)


def test_smooth_circle_prefix_refuses_false_fourier_norms() -> None:
    """Norms of exp(sin theta) halved, or truncated with no tail: false guarantees before."""

    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x[:, 1:2])

    norms, tail = pa.exp_sin_fourier_norms(30)
    with pytest.raises(ValueError, match="fourier_norms are false"):
        pa.smooth_circle_prefix(
            f, eps=1e-2, bound=math.e, max_len=8, fourier_norms=norms / 2, tail_bound=tail
        )
    with pytest.raises(ValueError, match="tail_bound = 0 is false"):
        pa.smooth_circle_prefix(f, eps=1e-2, bound=math.e, max_len=8, fourier_norms=norms[:2])
    prefix = pa.smooth_circle_prefix(
        f, eps=1e-2, bound=math.e, max_len=8, fourier_norms=norms, tail_bound=tail
    )
    assert prefix.guaranteed <= 1e-2


def test_evaluate_target_names_points_that_are_not_a_tensor() -> None:
    """Regression: a list of points raised AttributeError ('list' has no 'clone')."""
    from prefix_approx._validation import evaluate_target

    with pytest.raises(TypeError, match="points must be a 2-D torch tensor"):
        evaluate_target(lambda x: x[:, :1], [[1.0, 0.0]])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="points must be a 2-D torch tensor"):
        evaluate_target(lambda x: x[:, :1], torch.ones(3))


def test_a_guarantee_belongs_to_the_tokens_and_max_len_it_was_computed_for() -> None:
    """Regression: tokens edited in place, or replaced (or a longer max_len) with
    dataclasses.replace, kept the builder's guarantee (measured 10.2 against 0.495)."""
    import dataclasses

    def f(x: torch.Tensor) -> torch.Tensor:
        return x[:, :1]

    args = {"m": 1, "eps": 0.3, "lipschitz": 1.0, "bound": 1.0, "max_len": 2}
    prefix = pa.build_prefix(f, **args)
    other = pa.build_prefix(lambda x: -f(x), **args)  # equal parameters, other tokens
    assert prefix.guaranteed == other.guaranteed <= 0.3
    assert dataclasses.replace(prefix, max_len=1).guaranteed == prefix.guaranteed
    for change in ({"max_len": 3}, {"tokens": 2 * prefix.tokens}):
        with pytest.raises(ValueError, match="guarantee does not apply"):
            dataclasses.replace(prefix, **change)
    prefix.tokens[:, -1] += 10
    with pytest.raises(ValueError, match="guarantee does not apply"):
        _ = prefix.guaranteed
    assert dataclasses.replace(prefix, parameters=None).guaranteed is None
