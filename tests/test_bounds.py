"""Tests of prefix_approx.bounds and the smooth-target construction of result D."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prefix_approx import (
    CoreHead,
    DensityParameters,
    SmoothParameters,
    bessel_ratios,
    circle_fourier_norms,
    circle_points,
    core_prefix,
    density_error_bound,
    density_parameters,
    exp_sin_fourier_norms,
    lipschitz_delta,
    lipschitz_error_bound,
    lipschitz_parameters,
    modulus_delta,
    paper_prefix_length_exponent,
    random_sphere_points,
    smooth_circle_error_bound,
    smooth_circle_parameters,
    smooth_circle_prefix,
)


def quadrature_ratios(lam: float, n_max: int) -> torch.Tensor:
    """I_n(lam)/I_0(lam) = E[cos(n t)] under the von Mises density, by the trapezoid rule
    (spectrally accurate for this periodic integrand)."""
    t = torch.linspace(0, 2 * math.pi, 40_001, dtype=torch.float64)[:-1]
    w = torch.exp(lam * (torch.cos(t) - 1))
    n = torch.arange(n_max + 1, dtype=torch.float64)[:, None]
    return (w * torch.cos(n * t)).sum(1) / w.sum()


# ------------------------------------------------------------------ Bessel ratios
@pytest.mark.parametrize("lam", [0.01, 0.7, 5.0, 60.0, 2000.0])
def test_bessel_ratios_match_quadrature_and_torch(lam: float) -> None:
    ratios = bessel_ratios(lam, 80)
    assert ratios.shape == (81,) and ratios[0] == 1.0
    assert torch.allclose(ratios, quadrature_ratios(lam, 80), rtol=0, atol=1e-13)
    lam_t = torch.tensor(lam, dtype=torch.float64)
    i1_over_i0 = torch.special.i1e(lam_t) / torch.special.i0e(lam_t)
    assert ratios[1].item() == pytest.approx(i1_over_i0.item(), rel=1e-13)
    assert torch.all(ratios[1:] <= ratios[:-1])  # I_n decreases in n


def test_bessel_ratios_at_zero() -> None:
    assert torch.equal(bessel_ratios(0.0, 3), torch.tensor([1.0, 0.0, 0.0, 0.0]))


@settings(max_examples=40, deadline=None)
@given(lam=st.floats(0.05, 5000.0), n=st.integers(0, 400))
def test_amos_bounds_on_bessel_ratios(lam: float, n: int) -> None:
    """The inequalities the book takes from Amos (1974), for nu = n >= 0:
    x / (nu+1 + sqrt(x^2 + (nu+1)^2)) <= I_(nu+1)/I_nu <= x / (nu+1/2 + sqrt(x^2 + (nu+1/2)^2)),
    and the consequences used in the chapter: I_p/I_0 <= exp(-p^2 / (2 (x + p))) and
    1 - I_p/I_0 <= p (p + 1) / (2 x) (Lemma 'Two consequences of Amos's bounds')."""
    rho = bessel_ratios(lam, n + 1)
    step = (rho[n + 1] / rho[n]).item() if rho[n] > 0 else 0.0
    lower = lam / (n + 1 + math.sqrt(lam**2 + (n + 1) ** 2))
    upper = lam / (n + 0.5 + math.sqrt(lam**2 + (n + 0.5) ** 2))
    if rho[n] > 1e-250:  # the ratio is meaningful only before underflow
        assert lower * (1 - 1e-12) <= step <= upper * (1 + 1e-12)
    p = n + 1
    assert rho[p].item() <= math.exp(-(p**2) / (2 * (lam + p))) * (1 + 1e-12)
    assert 1 - rho[p].item() <= p * (p + 1) / (2 * lam) + 1e-12


# --------------------------------------------------------------- Lipschitz bound
def test_lipschitz_parameters_meet_eps_and_bound_decreases_in_lam() -> None:
    params = lipschitz_parameters(
        eps=0.1, lipschitz=2.0, bound=3.0, n_points=500, radius=0.0124, max_len=32
    )
    assert isinstance(params, DensityParameters)
    assert params.delta == pytest.approx(0.1 / 8)
    assert params.guaranteed <= 0.1
    common = {"lipschitz": 2.0, "bound": 3.0, "n_points": 500, "radius": 0.0124}
    common |= {"split": 0.025, "max_len": 32}
    values = [lipschitz_error_bound(lam=lam, **common) for lam in (1.0, 1e3, 1e5, 1e7)]
    assert values == sorted(values, reverse=True)
    assert values[-1] == pytest.approx(2.0 * 0.025, rel=1e-9)  # only the near term remains


def test_lipschitz_parameters_reject_a_net_that_is_too_coarse() -> None:
    with pytest.raises(ValueError, match="exceeds delta"):
        lipschitz_parameters(eps=0.1, lipschitz=1.0, bound=1.0, n_points=9, radius=0.5, max_len=1)
    with pytest.raises(ValueError, match="radius < split"):
        lipschitz_error_bound(
            lipschitz=1, bound=1, n_points=3, radius=0.2, split=0.1, lam=1.0, max_len=1
        )
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        lipschitz_error_bound(
            lipschitz=1, bound=1, n_points=3, radius=0.1, split=0.2, lam=-1.0, max_len=1
        )


def test_paper_exponent() -> None:
    assert [paper_prefix_length_exponent(m) for m in (1, 2, 3)] == [28, 54, 88]
    with pytest.raises(ValueError, match="m must be an integer >= 1"):
        paper_prefix_length_exponent(0)


# ------------------------------------------------------------------ smooth bound
def brute_force_bound(a, n_points, lam, max_len, bound):
    """The same formula with aliasing sums written out term by term."""
    rho = bessel_ratios(lam, 60 * n_points + len(a) + int(lam) + 2000)
    top = rho.shape[0] - 1

    def alias(n: int) -> float:
        total = 0.0
        for q in range(1, top // n_points + 2):
            for p in (abs(n + q * n_points), abs(n - q * n_points)):
                if p <= top:
                    total += rho[p].item()
        return total

    a0 = alias(0)
    numerator = sum(a[n] * ((1 - rho[n].item()) + alias(n) + a0) for n in range(len(a)))
    log_i0 = math.log(torch.special.i0e(torch.tensor(lam, dtype=torch.float64)).item()) + lam
    numerator += bound * max_len * math.exp(-math.log(n_points) - log_i0)
    return numerator / (1 - a0)


@pytest.mark.parametrize(("n_points", "lam", "n_freq"), [(7, 30.0, 40), (20, 50.0, 5), (3, 2.0, 9)])
def test_smooth_bound_matches_brute_force_sums(n_points: int, lam: float, n_freq: int) -> None:
    a = torch.rand(n_freq, generator=torch.Generator().manual_seed(n_points), dtype=torch.float64)
    fast = smooth_circle_error_bound(a, n_points=n_points, lam=lam, max_len=3, bound=5.0)
    slow = brute_force_bound(a.tolist(), n_points, lam, 3, 5.0)
    assert fast == pytest.approx(slow, rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(
    degree=st.integers(1, 6),
    n_points=st.integers(8, 60),
    lam=st.floats(2.0, 200.0),
    max_len=st.integers(1, 20),  # a query always sees at least itself
    seed=st.integers(0, 10_000),
)
def test_smooth_bound_holds_for_trigonometric_polynomials(degree, n_points, lam, max_len, seed):
    """Result D: the measured sup error never exceeds the bound."""
    g = torch.Generator().manual_seed(seed)
    cos_c = torch.randn((degree + 1, 2), generator=g, dtype=torch.float64)
    sin_c = torch.randn((degree + 1, 2), generator=g, dtype=torch.float64)

    def f(x: torch.Tensor) -> torch.Tensor:
        theta = torch.atan2(x[:, 1], x[:, 0])[:, None]
        n = torch.arange(degree + 1, dtype=torch.float64)
        return torch.cos(theta * n) @ cos_c + torch.sin(theta * n) @ sin_c

    a = circle_fourier_norms(f, n_samples=64)
    bound = float(a.sum())  # |f| <= sum of coefficient norms
    value = smooth_circle_error_bound(a, n_points=n_points, lam=lam, max_len=max_len, bound=bound)
    points = circle_points(n_points)
    prefix = core_prefix(points, f(points), lam)
    x = circle_points(4000, offset=0.0123)
    xs = x[: (4000 // max_len) * max_len].reshape(-1, max_len, 2)
    y = CoreHead(1, 2)(xs, prefix)
    err = torch.linalg.vector_norm(y - f(xs.reshape(-1, 2)).reshape(y.shape), dim=-1).max()
    assert err.item() <= value * (1 + 1e-9)


def test_fourier_norms_of_known_functions() -> None:
    a = circle_fourier_norms(lambda x: torch.stack([x[:, 0], 3 * x[:, 1] ** 2], 1), n_samples=64)
    # cos t -> |1/2| + |1/2| on n = 1; 3 sin^2 t = 3/2 - 3/2 cos 2t -> a_0 = 3/2, a_2 = 3/2.
    assert a.shape == (3,)
    assert torch.allclose(a, torch.tensor([1.5, 1.0, 1.5], dtype=torch.float64), atol=1e-13)


def test_smooth_prefix_meets_eps_and_n_grows_like_eps_to_minus_half() -> None:
    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x[:, 1:2])  # exp(sin t): entire, Fourier norms 2 I_n(1)

    sizes = []
    for eps in (1e-2, 1e-4):
        norms, tail = exp_sin_fourier_norms(30)
        prefix = smooth_circle_prefix(
            f, eps=eps, bound=math.e, max_len=8, fourier_norms=norms, tail_bound=tail
        )
        assert isinstance(prefix.parameters, SmoothParameters)
        assert prefix.guaranteed <= eps
        x = random_sphere_points(8 * 400, 1, seed=1).reshape(400, 8, 2)
        err = (CoreHead(1, 1)(x, prefix) - f(x.reshape(-1, 2)).reshape(400, 8, 1)).abs().max()
        assert err.item() <= prefix.guaranteed
        sizes.append(len(prefix))
    slope = math.log(sizes[1] / sizes[0]) / math.log(100)
    assert 0.4 < slope < 0.7, sizes


def test_smooth_parameters_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        smooth_circle_error_bound(torch.tensor([-1.0]), n_points=3, lam=1.0, max_len=1, bound=1)
    with pytest.raises(ValueError, match="no N <= 4"):
        smooth_circle_parameters(
            torch.tensor([0.0, 1.0]), eps=1e-6, max_len=1, bound=1, max_points=4
        )
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        smooth_circle_prefix(lambda x: x[:, :1], eps=0.0, bound=1.0, max_len=1, bandwidth=1)
    with pytest.raises(ValueError, match="above the stated bound"):
        smooth_circle_prefix(lambda x: 5 * x[:, :1], eps=0.1, bound=1.0, max_len=1, bandwidth=1)
    assert math.isinf(
        smooth_circle_error_bound(
            torch.tensor([0.0, 1.0]), n_points=2, lam=500.0, max_len=1, bound=1
        )
    )


# ------------------------------------------------------ density (any modulus)
def test_modulus_delta_is_the_largest_admissible_radius() -> None:
    delta = modulus_delta(math.sqrt, eps=0.2)  # sqrt(2 delta) <= 0.1  <=>  delta <= 0.005
    assert delta == pytest.approx(0.005, rel=1e-9) and math.sqrt(2 * delta) <= 0.1
    assert modulus_delta(lambda t: 0.0, eps=0.2) == pytest.approx(math.pi / 4)
    assert modulus_delta(lambda t: t, eps=1.0) == pytest.approx(
        lipschitz_delta(eps=1.0, lipschitz=1.0)
    )
    with pytest.raises(ValueError, match="tend to 0 at 0"):
        modulus_delta(lambda t: 1.0, eps=0.1)
    with pytest.raises(ValueError, match="finite values >= 0"):
        modulus_delta(lambda t: float("nan"), eps=0.1)
    with pytest.raises(TypeError, match="modulus must be a function"):
        modulus_delta(3.0, eps=0.1)  # type: ignore[arg-type]


def test_density_parameters_split_eps_into_half_quarter_quarter() -> None:
    params = density_parameters(
        eps=0.1, near_error=0.05, delta=0.01, bound=2.0, n_points=1000, radius=0.0099, max_len=64
    )
    far_and_inputs = params.guaranteed - params.near_error
    assert params.guaranteed <= 0.1 and far_and_inputs <= 0.05 + 1e-15
    assert params.guaranteed == pytest.approx(
        density_error_bound(
            near_error=0.05,
            bound=2.0,
            n_points=1000,
            radius=0.0099,
            split=0.02,
            lam=params.lam,
            max_len=64,
        )
    )
    with pytest.raises(ValueError, match="at most eps/2"):
        density_parameters(
            eps=0.1, near_error=0.06, delta=0.01, bound=1, n_points=9, radius=0.01, max_len=1
        )
    with pytest.raises(ValueError, match="at most pi/4"):
        density_parameters(
            eps=0.1, near_error=0.0, delta=1.0, bound=1, n_points=9, radius=0.5, max_len=1
        )


def test_lipschitz_delta() -> None:
    assert lipschitz_delta(eps=0.4, lipschitz=2.0) == pytest.approx(0.05)
    assert lipschitz_delta(eps=10.0, lipschitz=1.0) == pytest.approx(math.pi / 4)
    assert lipschitz_delta(eps=0.1, lipschitz=0.0) == pytest.approx(math.pi / 4)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        lipschitz_delta(eps=0.0, lipschitz=1.0)
