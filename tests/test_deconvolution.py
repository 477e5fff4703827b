"""Deconvolved prefix values on the circle (book/beyond_saturation.ipynb): the proved bound
holds through the core head for trigonometric polynomials, exp(sin t) and a C^2 target, the
ratio allowance holds against mpmath, saturation, the Amos lemma on 1/rho_n, the token count
for exp(sin t), and the arguments are checked."""

from __future__ import annotations

import math

import mpmath
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prefix_approx import (
    RATIO_RELATIVE_ERROR,
    DeconvolutionParameters,
    bessel_ratios,
    circle_points,
    core_prefix,
    deconvolved_circle_error_bound,
    deconvolved_circle_prefix,
    exp_sin_fourier_norms,
    smooth_circle_parameters,
    sup_error,
)

GRID = circle_points(6000, offset=1e-4).reshape(-1, 6, 2)


def angle(x: torch.Tensor) -> torch.Tensor:
    return torch.atan2(x[:, 1], x[:, 0])


def exp_sin(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(x[:, 1:2])


def parabola_norms(n_max: int) -> tuple[torch.Tensor, float]:
    """f(t) = (pi - |t|)^2 / pi^2 - 1/3 on (-pi, pi]: C^1 with f'' of bounded variation,
    f_n = 2 / (pi^2 n^2) for n != 0, f_0 = 0; the l1 tail beyond K is
    sum_{n > K} 4 / (pi^2 n^2) <= 4 / (pi^2 K)."""
    n = torch.arange(n_max + 1, dtype=torch.float64)
    norms = 4.0 / (math.pi**2 * n.clamp(min=1) ** 2)
    norms[0] = 0.0
    return norms, 4.0 / (math.pi**2 * n_max)


def parabola(x: torch.Tensor) -> torch.Tensor:
    t = angle(x)
    return ((math.pi - t.abs()) ** 2 / math.pi**2 - 1.0 / 3.0)[:, None]


def test_ratio_allowance_holds_against_mpmath() -> None:
    """RATIO_RELATIVE_ERROR bounds the relative error of bessel_ratios (40-digit mpmath),
    with a factor 10 to spare, over the scales the module accepts (lam <= 3e4)."""
    mpmath.mp.dps = 40
    worst = 0.0
    grid = {
        0.05: (1, 2, 10, 50),
        1.0: (1, 5, 30, 90),
        7.5: (1, 10, 60, 120),
        300.0: (1, 30, 300, 500),
        4000.0: (1, 100, 1000, 2000),
        1e4: (1, 500, 2500),
        3e4: (1, 100, 1000),
    }
    for lam, orders in grid.items():
        rho = bessel_ratios(lam, max(orders))
        i0 = mpmath.besseli(0, lam, maxterms=10**6)
        for n in orders:
            exact = mpmath.besseli(n, lam, maxterms=10**6) / i0
            assert exact > mpmath.mpf("1e-290"), (lam, n)
            error = abs(mpmath.mpf(float(rho[n])) / exact - 1)
            worst = max(worst, float(error))
    assert worst <= RATIO_RELATIVE_ERROR / 10, worst


@pytest.mark.parametrize("lam", [0.3, 4.0, 25.0, 400.0, 9000.0])
def test_inverse_ratios_obey_the_amos_growth_bound(lam: float) -> None:
    """Lemma: 1/rho_n <= exp(n(n+1)/(2 lam)), and rho is decreasing."""
    rho = bessel_ratios(lam, 300)
    n = torch.arange(301, dtype=torch.float64)
    assert bool((1 / rho <= torch.exp(n * (n + 1) / (2 * lam)) * (1 + 1e-12)).all())
    assert bool(((rho[1:] < rho[:-1]) | (rho[1:] == 0)).all())  # or underflow


@settings(max_examples=25, deadline=None)
@given(
    degree=st.integers(0, 5),
    seed=st.integers(0, 10_000),
    eps_exponent=st.integers(2, 9),
    max_len=st.integers(1, 50),
)
def test_guarantee_holds_for_trigonometric_polynomials(
    degree: int, seed: int, eps_exponent: int, max_len: int
) -> None:
    """For random trigonometric polynomials the measured error through the core head never
    exceeds the guarantee, which is at most eps."""
    g = torch.Generator().manual_seed(seed)
    coefficients = torch.randn((2 * degree + 1, 2), generator=g, dtype=torch.float64)

    def f(x: torch.Tensor) -> torch.Tensor:
        t = angle(x)[:, None]
        n = torch.arange(degree + 1, dtype=torch.float64)
        waves = torch.cat((torch.cos(n * t), torch.sin(n[1:] * t)), dim=1)
        return waves @ coefficients

    eps = 10.0**-eps_exponent
    prefix = deconvolved_circle_prefix(f, eps=eps, max_len=max_len, bandwidth=degree)
    assert isinstance(prefix.parameters, DeconvolutionParameters)
    guaranteed = prefix.guaranteed
    assert guaranteed is not None and guaranteed <= eps
    length = min(max_len, 6)
    x = circle_points(1200 * length, offset=0.3 * seed / 10_000).reshape(-1, length, 2)
    assert sup_error(f, prefix, x) <= guaranteed
    assert sup_error(f, prefix, x, causal=True) <= guaranteed


@pytest.mark.parametrize("eps", [1e-3, 1e-6, 1e-10])
def test_guarantee_holds_for_exp_sin(eps: float) -> None:
    norms, tail = exp_sin_fourier_norms(40)
    prefix = deconvolved_circle_prefix(
        exp_sin, eps=eps, max_len=6, fourier_norms=norms, tail_bound=tail
    )
    measured = sup_error(exp_sin, prefix, GRID)
    assert measured <= prefix.guaranteed <= eps
    # the bound is not loose: the measured error is within a factor 20 of it
    assert measured >= prefix.guaranteed / 20


@pytest.mark.parametrize("eps", [3e-2, 1e-2])
def test_guarantee_holds_for_a_c2_target(eps: float) -> None:
    """A target with f_n ~ 1/n^2 (its second derivative jumps): the l1 tail sets M."""
    norms, tail = parabola_norms(800)
    prefix = deconvolved_circle_prefix(
        parabola, eps=eps, max_len=4, fourier_norms=norms, tail_bound=tail
    )
    x = circle_points(8000, offset=1e-3)
    x = torch.cat((x, torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)))
    assert sup_error(parabola, prefix, x[:, None]) <= prefix.guaranteed <= eps


def test_exp_sin_reaches_1e_7_with_few_tokens_where_result_d_needs_many() -> None:
    """The figure of the chapter: deconvolution reaches 1e-7 on exp(sin t) with at most 40
    tokens; result D needs many times more tokens already at 1e-4, and at the same eps."""
    norms, tail = exp_sin_fourier_norms(40)
    settings = {"max_len": 8, "fourier_norms": norms, "tail_bound": tail}
    prefix = deconvolved_circle_prefix(exp_sin, eps=1e-7, **settings)
    assert len(prefix) <= 40
    assert sup_error(exp_sin, prefix, GRID) <= prefix.guaranteed <= 1e-7
    same = deconvolved_circle_prefix(exp_sin, eps=1e-4, **settings)
    result_d = smooth_circle_parameters(norms, eps=1e-4, max_len=8, bound=math.e, tail_bound=tail)
    assert result_d.n_points >= 10 * len(prefix) >= 10 * len(same)


def test_values_stay_bounded() -> None:
    """max |v_j| stays within e^2 sum |f_n| (the lemma with lam >= M^2 / 4 gives 1/rho_n
    <= e^(2 + 2/M); the search picks lam freely, so we check what it picked)."""
    norms, tail = exp_sin_fourier_norms(40)
    for eps in (1e-3, 1e-7, 1e-11):
        prefix = deconvolved_circle_prefix(
            exp_sin, eps=eps, max_len=2, fourier_norms=norms, tail_bound=tail
        )
        params = prefix.parameters
        assert isinstance(params, DeconvolutionParameters)
        m, lam = params.degree, params.lam
        growth = math.exp(m * (m + 1) / (2 * lam))
        assert params.max_value <= growth * float(norms.sum())
        assert float(prefix.values.abs().max()) == pytest.approx(params.max_value)


def test_saturation_of_values_at_the_control_points() -> None:
    """Proposition (saturation): values f(c_j) for f = cos t leave an error of at least
    1/(2(lam + 1)) - alpha_1 - delta, whatever N."""

    def cos(x: torch.Tensor) -> torch.Tensor:
        return x[:, :1]

    x = circle_points(2000)[:, None]
    for n_points, lam in [(16, 4.0), (64, 50.0), (256, 900.0), (1024, 2e4)]:
        points = circle_points(n_points)
        prefix = core_prefix(points, cos(points), lam)
        rho = bessel_ratios(lam, 10 * n_points)
        alias = float(rho[n_points - 1 :: n_points].sum() + rho[n_points + 1 :: n_points].sum())
        delta = float(2 * rho[n_points::n_points].sum())
        lower = 1 / (2 * (lam + 1)) - alias - delta
        assert sup_error(cos, prefix, x) >= lower
        assert lower > 0.9 / (2 * (lam + 1))


def test_error_bound_matches_its_formula_and_is_monotone() -> None:
    """The bound grows with max_len and truncation, and is inf when delta >= 1."""
    b = torch.tensor([1.0, 0.5, 0.25], dtype=torch.float64)
    base = deconvolved_circle_error_bound(b, n_points=15, lam=2.0, max_len=1)
    assert base < deconvolved_circle_error_bound(b, n_points=15, lam=2.0, max_len=10**6)
    more = deconvolved_circle_error_bound(b, n_points=15, lam=2.0, max_len=1, truncation=0.1)
    assert more == pytest.approx(base + 0.1)
    assert deconvolved_circle_error_bound(b, n_points=3, lam=900.0, max_len=1) == math.inf


def test_error_bound_is_above_the_head_for_a_hand_built_prefix() -> None:
    """The bound for p = cos 3t, v_j = cos(3 c_j) / rho_3, against the head itself."""
    lam, n_points = 20.0, 24
    rho = bessel_ratios(lam, 3)
    points = circle_points(n_points)
    values = torch.cos(3 * angle(points))[:, None] / rho[3]
    prefix = core_prefix(points, values, lam)

    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.cos(3 * angle(x))[:, None]

    b = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    bound = deconvolved_circle_error_bound(b, n_points=n_points, lam=lam, max_len=3)
    measured = sup_error(f, prefix, circle_points(3000, offset=0.01).reshape(-1, 3, 2))
    assert measured <= bound < 1e-3


def test_arguments_are_checked() -> None:
    norms, tail = exp_sin_fourier_norms(20)
    with pytest.raises(ValueError, match="exactly one"):
        deconvolved_circle_prefix(exp_sin, eps=1e-3, max_len=2)
    with pytest.raises(ValueError, match="exactly one"):
        deconvolved_circle_prefix(exp_sin, eps=1e-3, max_len=2, fourier_norms=norms, bandwidth=3)
    with pytest.raises(TypeError, match="f must be"):
        deconvolved_circle_prefix(3, eps=1e-3, max_len=2, bandwidth=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="eps"):
        deconvolved_circle_prefix(exp_sin, eps=-1.0, max_len=2, bandwidth=3)
    with pytest.raises(ValueError, match="not a trigonometric polynomial"):
        deconvolved_circle_prefix(exp_sin, eps=1e-3, max_len=2, bandwidth=3)
    with pytest.raises(ValueError, match="fourier_norms are false"):
        deconvolved_circle_prefix(
            exp_sin, eps=1e-3, max_len=2, fourier_norms=norms / 2, tail_bound=tail
        )
    with pytest.raises(ValueError, match="tail alone"):
        deconvolved_circle_prefix(
            exp_sin, eps=1e-3, max_len=2, fourier_norms=norms[:2], tail_bound=0.1
        )
    with pytest.raises(ValueError, match="max_tokens"):
        deconvolved_circle_prefix(
            exp_sin, eps=1e-9, max_len=2, fourier_norms=norms, tail_bound=tail, max_tokens=8
        )
    with pytest.raises(ValueError, match="tail_bound must be 0"):
        deconvolved_circle_prefix(exp_sin, eps=1e-3, max_len=2, bandwidth=3, tail_bound=0.1)
    b = torch.ones(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="n_points must exceed"):
        deconvolved_circle_error_bound(b, n_points=2, lam=1.0, max_len=1)
    with pytest.raises(ValueError, match="norms"):
        deconvolved_circle_error_bound(-b, n_points=8, lam=1.0, max_len=1)
    with pytest.raises(ValueError, match="lam must be at most"):
        deconvolved_circle_error_bound(b, n_points=8, lam=4e4, max_len=1)
    with pytest.raises(TypeError, match="n_points"):
        deconvolved_circle_error_bound(b, n_points=8.5, lam=1.0, max_len=1)  # type: ignore[arg-type]


def test_stated_norms_are_checked_against_the_fft_beyond_them() -> None:
    # fourier_norms [0, 1] with tail 0 hide a cos(5 t) of size 0.5: the FFT mass beyond the
    # stated norms exceeds the l1 tail, so the builder refuses (it used to guarantee 4.6e-4
    # and miss f by 0.5).
    def f(x: torch.Tensor) -> torch.Tensor:
        return (x[:, 0] + 0.5 * torch.cos(5 * angle(x)))[:, None]

    with pytest.raises(ValueError, match="tail_bound"):
        deconvolved_circle_prefix(f, eps=1e-3, max_len=4, fourier_norms=[0.0, 1.0], tail_bound=0.0)
    prefix = deconvolved_circle_prefix(
        f, eps=1.5, max_len=4, fourier_norms=[0.0, 1.0], tail_bound=0.5 + 1e-12
    )
    assert sup_error(f, prefix, GRID.reshape(-1, 1, 2)) <= prefix.guaranteed


def test_bandwidth_guarantee_covers_what_the_check_lets_through() -> None:
    # A frequency 40 of size 9e-11 under bandwidth=1: either refused, or covered.
    def f(x: torch.Tensor) -> torch.Tensor:
        return (x[:, 0] + 9e-11 * torch.cos(40 * angle(x)))[:, None]

    try:
        prefix = deconvolved_circle_prefix(f, eps=3e-11, max_len=1, bandwidth=1)
    except ValueError:
        pass
    else:
        assert sup_error(f, prefix, GRID.reshape(-1, 1, 2)) <= prefix.guaranteed
    prefix = deconvolved_circle_prefix(f, eps=1e-9, max_len=1, bandwidth=1)
    assert sup_error(f, prefix, GRID.reshape(-1, 1, 2)) <= prefix.guaranteed
