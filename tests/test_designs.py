"""Spherical designs, their certified defects, and prefixes on designs (chapter "Smooth targets
on every sphere: spherical designs"): the certified defect bounds the quadrature error of
every polynomial, the Funk-Hecke ratios expand the kernel, and every guarantee is at least
the error the core head makes on dense point sets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import eval_gegenbauer

from prefix_approx import (
    bessel_ratios,
    compute_spherical_design,
    core_prefix,
    design_defects,
    design_error_bound,
    design_prefix,
    fibonacci_sphere,
    funk_hecke_ratios,
    harmonic_dimension,
    harmonic_sup_norms,
    random_sphere_points,
    shipped_design_strengths,
    spherical_design,
    sup_error,
)


def monomial_mean(m: int, power: int) -> float:
    """E[x_1^power] for x uniform on S^m: (power-1)!! / ((m+1)(m+3)...(m+power-1))."""
    if power % 2:
        return 0.0
    value = 1.0
    for i in range(0, power, 2):
        value *= (i + 1) / (m + 1 + i)
    return value


def ridge_polynomial(directions: torch.Tensor, weights: torch.Tensor, degree: int):
    """p(x) = sum_k c_k <x, w_k>^degree with unit w_k: its mean is sum_k c_k E[x_1^degree]."""

    def p(x: torch.Tensor) -> torch.Tensor:
        return ((x @ directions.T) ** degree) @ weights

    m = directions.shape[1] - 1
    return p, float(weights.sum()) * monomial_mean(m, degree)


def l2_norm_by_design(p, m: int, degree: int) -> float:
    """||p - I(p)||_2 on a shipped design exact (to its certified defect) for degree 2 deg."""
    strengths = [s for s in shipped_design_strengths(m) if s >= 2 * degree]
    design = spherical_design(strengths[0], m=m)
    values = p(design.points)
    return float(torch.sqrt(((values - values.mean()) ** 2).mean()))


# ------------------------------------------------------------------ dimensions
def test_harmonic_dimension_on_s2_and_s3() -> None:
    for degree in range(20):
        assert harmonic_dimension(2, degree) == 2 * degree + 1
        assert harmonic_dimension(3, degree) == (degree + 1) ** 2
    assert harmonic_dimension(1, 5) == 2
    with pytest.raises(ValueError, match="degree"):
        harmonic_dimension(2, -1)
    with pytest.raises(TypeError, match="m must be an integer"):
        harmonic_dimension(2.0, 1)  # type: ignore[arg-type]


# ------------------------------------------------------------------ defects
@settings(max_examples=25, deadline=None)
@given(
    m=st.sampled_from([2, 3]),
    n=st.integers(4, 60),
    t=st.integers(1, 6),
    seed=st.integers(0, 10_000),
)
def test_certified_defect_bounds_every_polynomial_and_is_attained(
    m: int, n: int, t: int, seed: int
) -> None:
    """Lemma lem-design-defect: |Q(p) - I(p)| <= ||p - I(p)||_2 sqrt(sum D_l^2) for ridge
    polynomials of each degree <= t (exact means), and equality for the polynomial
    sum_l (1/N) sum_i Z_l(x_i, .), whose error is sum D_l^2 and norm sqrt(sum D_l^2)."""
    t = min(t, 3) if m == 3 else t  # the shipped S^3 designs give the L2 norms to degree 3
    points = random_sphere_points(n, m, seed=seed)
    defects = design_defects(points, t)
    delta = float(torch.sqrt((defects**2).sum()))
    g = torch.Generator().manual_seed(seed)
    for degree in range(1, t + 1):
        directions = torch.randn((3, m + 1), generator=g, dtype=torch.float64)
        directions /= directions.norm(dim=1, keepdim=True)
        weights = torch.randn(3, generator=g, dtype=torch.float64)
        p, mean = ridge_polynomial(directions, weights, degree)
        error = abs(float(p(points).mean()) - mean)
        assert error <= l2_norm_by_design(p, m, degree) * delta * (1 + 1e-4) + 1e-12
    # attained: Q(h) - I(h) = sum_l D_l^2 = ||h||^2 for h = sum_l (1/N) sum_i Z_l(x_i, .)
    gram = (points @ points.T).numpy()
    alpha = (m - 1) / 2
    exact = sum(
        harmonic_dimension(m, ell)
        * (eval_gegenbauer(ell, alpha, gram) / eval_gegenbauer(ell, alpha, 1.0)).sum()
        / n**2
        for ell in range(1, t + 1)
    )
    assert exact <= delta**2 * (1 + 1e-9) + 1e-12
    assert delta**2 <= exact * (1 + 1e-6) + 1e-11  # certified, and tight when not tiny


def test_shipped_designs_are_certified_and_their_stored_defects_recompute() -> None:
    for m, tolerance in ((2, 1e-4), (3, 1e-4)):
        strengths = shipped_design_strengths(m)
        assert strengths[:5] == [1, 2, 3, 4, 5]
        for t in strengths:
            stored = spherical_design(t, m=m)
            assert stored.strength == t and stored.m == m
            assert stored.defect < tolerance, (m, t, stored.defect)
        for t in strengths[:: max(1, len(strengths) // 4)]:
            stored = spherical_design(t, m=m)
            fresh = spherical_design(t, m=m, certify=True)
            assert torch.equal(stored.defects, fresh.defects), (m, t)
    # a damaged design shows a large defect
    design = spherical_design(6)
    moved = design.points.clone()
    moved[0] = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    assert float(design_defects(moved, 6).max()) > 1e-3


def test_small_design_reproduces_from_its_generator() -> None:
    """Regression: the generator rebuilds the shipped 4-design on S^2 (deterministic)."""
    rebuilt = compute_spherical_design(4, m=2)
    shipped = spherical_design(4, m=2)
    assert len(rebuilt) == len(shipped) == math.ceil(25 / 2) + 4
    assert rebuilt.defect < 1e-5
    assert torch.allclose(rebuilt.points, shipped.points, atol=1e-8)


def test_octahedron_is_a_3_design_and_not_a_4_design() -> None:
    octahedron = torch.cat([torch.eye(3), -torch.eye(3)]).to(torch.float64)
    defects = design_defects(octahedron, 5)
    assert float(defects[:3].max()) < 1e-6
    assert float(defects[3]) > 0.1


def test_design_defects_validation() -> None:
    with pytest.raises(ValueError, match="m >= 2"):
        design_defects(torch.tensor([[1.0, 0.0]]), 2)
    with pytest.raises(ValueError, match="unit sphere"):
        design_defects(torch.tensor([[1.0, 0.0, 0.1]]), 2)
    with pytest.raises(ValueError, match="8 N"):
        design_defects(fibonacci_sphere(4000), 2)
    with pytest.raises(TypeError, match="t must be an integer"):
        design_defects(fibonacci_sphere(10), 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no shipped design"):
        spherical_design(10_000)
    with pytest.raises(ValueError, match="m must be"):
        spherical_design(3, m=4)
    with pytest.raises(ValueError, match="more than"):
        compute_spherical_design(199)


# ------------------------------------------------------------------ Funk-Hecke
@pytest.mark.parametrize("m", [2, 3])
def test_funk_hecke_ratios_match_the_integrals(m: int) -> None:
    """rho_l = int e^(lam s) P_l(s) w(s) ds / int e^(lam s) w(s) ds, w = (1-s^2)^((m-2)/2)."""
    alpha = (m - 1) / 2

    def integral(lam: float, ell: int | None) -> float:
        def integrand(s: float) -> float:
            weight = (1 - s * s) ** ((m - 2) / 2) * math.exp(lam * s)
            if ell is None:
                return weight
            return weight * eval_gegenbauer(ell, alpha, s) / eval_gegenbauer(ell, alpha, 1)

        return quad(integrand, -1, 1)[0]

    for lam in (0.5, 3.0, 20.0):
        rho = funk_hecke_ratios(lam, m, 8).numpy()
        norm = integral(lam, None)
        for ell in range(9):
            assert abs(integral(lam, ell) / norm - rho[ell]) < 1e-9, (m, lam, ell)
    # on S^1 the ratios are bessel_ratios; Amos's bound holds for every order offset
    assert torch.allclose(funk_hecke_ratios(7.0, 1, 30), bessel_ratios(7.0, 30), rtol=1e-12)
    ell = np.arange(200.0)
    for lam in (0.1, 5.0, 300.0):
        rho = funk_hecke_ratios(lam, m, 199).numpy()
        assert (rho <= np.exp(-(ell**2) / (2 * (lam + ell))) * (1 + 1e-12)).all()
        assert (1 - rho <= ell * (ell + m) / (2 * lam) + 1e-15).all()
    with pytest.raises(ValueError, match="lam must be at most"):
        funk_hecke_ratios(1e8, 2, 3)


# ------------------------------------------------------------------ prefixes
def smooth_s2(x: torch.Tensor) -> torch.Tensor:
    return (x[:, 0] * x[:, 1] + x[:, 2])[:, None]


def dense_s2() -> torch.Tensor:
    return torch.cat([fibonacci_sphere(12_000), random_sphere_points(4_000, 2, seed=11)])


def test_harmonic_sup_norms_bound_the_true_parts() -> None:
    """x_3 has sup 1 in degree 1; x_1 x_2 has sup 1/2 and L2 norm 1/sqrt(15) in degree 2,
    so sqrt(5/15) = 0.577 is the bound sqrt(dim) ||f_2||_2."""
    a = harmonic_sup_norms(smooth_s2, m=2, bandwidth=2, bound=1.5)
    assert a.shape == (3,)
    assert a[0] < 1e-4
    assert 1.0 <= a[1] < 1.0 + 1e-4
    assert 0.5 <= math.sqrt(1 / 3) <= a[2] < math.sqrt(1 / 3) + 1e-4
    with pytest.raises(ValueError, match="not a polynomial of degree"):
        harmonic_sup_norms(lambda x: torch.exp(x[:, 2:3]), m=2, bandwidth=2, bound=3.0)
    with pytest.raises(ValueError, match="above bound"):
        harmonic_sup_norms(smooth_s2, m=2, bandwidth=2, bound=0.5)


@pytest.mark.parametrize("deconvolve", [False, True])
def test_design_prefix_guarantee_holds_on_dense_points(deconvolve: bool) -> None:
    """Theorems thm-design-values and thm-design-deconvolved: measured <= guaranteed <= eps."""
    test = dense_s2().reshape(-1, 4, 3)
    for eps in (0.3, 0.05) if deconvolve else (0.35,):
        prefix = design_prefix(
            smooth_s2, eps=eps, bound=1.5, max_len=4, bandwidth=2, deconvolve=deconvolve
        )
        guaranteed = prefix.guaranteed
        assert guaranteed is not None and guaranteed <= eps
        assert sup_error(smooth_s2, prefix, test) <= guaranteed


def test_deconvolution_needs_fewer_points_than_plain_values() -> None:
    plain = design_prefix(smooth_s2, eps=0.35, bound=1.5, max_len=4, bandwidth=2)
    sharp = design_prefix(smooth_s2, eps=0.35, bound=1.5, max_len=4, bandwidth=2, deconvolve=True)
    assert len(sharp) < len(plain)


def test_design_prefix_on_s3() -> None:
    def f(x: torch.Tensor) -> torch.Tensor:
        return (x[:, 0] + 0.5 * x[:, 1] * x[:, 3])[:, None]

    prefix = design_prefix(f, m=3, eps=0.3, bound=1.5, max_len=2, bandwidth=2, deconvolve=True)
    x = random_sphere_points(6000, 3, seed=5).reshape(-1, 2, 4)
    assert prefix.guaranteed is not None
    assert sup_error(f, prefix, x) <= prefix.guaranteed <= 0.3


@settings(max_examples=12, deadline=None)
@given(
    coefficients=st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4),
    t=st.integers(5, 12),
    lam=st.floats(0.5, 12.0),
    deconvolve=st.booleans(),
    length=st.integers(0, 5),
)
def test_design_error_bound_holds_for_every_lam_and_design(
    coefficients: list[float], t: int, lam: float, deconvolve: bool, length: int
) -> None:
    """The bound of design_error_bound, for any lam and shipped design, is at least the
    measured sup error of the head (values f or deconvolved values g)."""
    c = torch.tensor(coefficients, dtype=torch.float64)

    def f(x: torch.Tensor) -> torch.Tensor:
        return (c[0] + c[1] * x[:, 2] + c[2] * x[:, 0] * x[:, 1] + c[3] * x[:, 0])[:, None]

    bound = float(c.abs().sum())
    if bound == 0:
        return
    a = harmonic_sup_norms(f, m=2, bandwidth=2, bound=bound)
    design = spherical_design(t)
    if deconvolve:
        rho = funk_hecke_ratios(lam, 2, 2)
        # the parts of f: c0 (degree 0), c1 x3 + c3 x1 (degree 1), c2 x1 x2 (degree 2)
        x = design.points
        values = (
            c[0] + (c[1] * x[:, 2] + c[3] * x[:, 0]) / rho[1] + c[2] * x[:, 0] * x[:, 1] / rho[2]
        )
        values = values[:, None]
    else:
        values = f(design.points)
    prefix = core_prefix(design.points, values, lam)
    guaranteed = design_error_bound(
        a,
        m=2,
        strength=t,
        defect=design.defect,
        lam=lam,
        n_points=len(design),
        max_len=length,
        bound=bound,
        deconvolve=deconvolve,
        value_error=1e-12 * float(values.abs().max()) if deconvolve else 0.0,
        key_offset=1e-15,
    )
    if length == 0:
        return  # the head needs at least one input token to be evaluated at a position
    x = fibonacci_sphere(3000 * length).reshape(-1, length, 3)
    assert sup_error(f, prefix, x) <= guaranteed


def test_design_prefix_refusals() -> None:
    settings_ = {"eps": 0.3, "bound": 1.5, "max_len": 4}
    with pytest.raises(ValueError, match="exactly one of bandwidth"):
        design_prefix(smooth_s2, **settings_)
    with pytest.raises(ValueError, match="exactly one of bandwidth"):
        design_prefix(smooth_s2, **settings_, bandwidth=2, harmonic_norms=[0, 1, 1])
    with pytest.raises(ValueError, match="deconvolve=True needs bandwidth"):
        design_prefix(smooth_s2, **settings_, harmonic_norms=[0, 1, 1], deconvolve=True)
    with pytest.raises(ValueError, match="not a polynomial"):
        design_prefix(lambda x: torch.exp(x[:, :1]), eps=0.3, bound=3.0, max_len=4, bandwidth=1)
    with pytest.raises(ValueError, match="above bound"):
        design_prefix(smooth_s2, eps=0.3, bound=0.2, max_len=4, bandwidth=2)
    with pytest.raises(ValueError, match="max_tokens"):
        design_prefix(smooth_s2, **settings_, bandwidth=2, max_tokens=2)
    with pytest.raises(ValueError, match="best bound found"):
        design_prefix(smooth_s2, eps=1e-12, bound=1.5, max_len=4, bandwidth=2, deconvolve=True)
    with pytest.raises(ValueError, match="m must be"):
        design_prefix(smooth_s2, **settings_, bandwidth=2, m=1)
    with pytest.raises(TypeError, match="deconvolve must be True or False"):
        design_prefix(smooth_s2, **settings_, bandwidth=2, deconvolve="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="harmonic_norms"):
        design_error_bound(
            [], m=2, strength=3, defect=0.0, lam=1.0, n_points=5, max_len=1, bound=1.0
        )


def test_design_bound_for_exact_designs_grows_like_eps_to_minus_one() -> None:
    """Corollary cor-design-rate on S^2: the fewest points N(t) = ceil((t+1)^2/2) + t for
    which the bound of thm-design-values (defect 0) reaches eps grows like eps^-1 times a
    logarithm: quartering eps multiplies N by between 4 and 4 * 2 = 8."""
    norms = torch.tensor([0.0, 1.0, 0.58], dtype=torch.float64)

    def size(t: int) -> int:
        return math.ceil((t + 1) ** 2 / 2) + t

    def fewest(eps: float) -> int:
        best = None
        lam_low = float((norms * torch.tensor([0.0, 3.0, 8.0])).sum()) / 2 / eps
        for k in range(9):
            lam = lam_low * 2 ** (k / 4)
            for t in range(2, 800):
                bound = design_error_bound(
                    norms,
                    m=2,
                    strength=t,
                    defect=0.0,
                    lam=lam,
                    n_points=size(t),
                    max_len=4,
                    bound=1.58,
                )
                if bound <= eps:
                    best = size(t) if best is None else min(best, size(t))
                    break
        assert best is not None
        return best

    coarse, fine = fewest(0.02), fewest(0.005)
    assert 4.0 < fine / coarse < 8.0, (coarse, fine)


@pytest.mark.parametrize("m", [2, 3])
def test_design_energy_equals_the_gram_sums(m: int) -> None:
    """The energy the generator minimises (on S^2 through an orthonormal basis of real
    harmonics) is sum_l D_l^2 of the Gram sums, for random points."""
    from prefix_approx.designs import _energy_torch

    points = random_sphere_points(40, m, seed=m)
    alpha = (m - 1) / 2
    gram = (points @ points.T).numpy()
    expected = sum(
        harmonic_dimension(m, ell)
        * (eval_gegenbauer(ell, alpha, gram) / eval_gegenbauer(ell, alpha, 1.0)).sum()
        / 40**2
        for ell in range(1, 9)
    )
    assert abs(float(_energy_torch(points, m, 8)) - expected) < 1e-12


def test_design_prefix_covers_a_smooth_non_polynomial_target_with_a_tail_bound() -> None:
    """f = exp(x_3) on S^2 is not a polynomial: its harmonic parts are (2l+1) i_l(1) P_l, so
    sup |f_l| = (2l+1) i_l(1), and the parts beyond M sum to a tail tau. The guarantee adds
    2 tau to the bound for the truncation and must hold on dense points."""
    import math

    import numpy as np
    from scipy.special import spherical_in

    import prefix_approx as pa

    degree = 4
    parts = np.array([(2 * ell + 1) * spherical_in(ell, 1.0) for ell in range(60)])
    tail = float(parts[degree + 1 :].sum()) * (1 + 1e-12)

    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x[:, 2:3])

    x = pa.random_sphere_points(20_000, 2, seed=3)[:, None]
    for eps in (0.5, 0.3):
        prefix = pa.design_prefix(
            f,
            eps=eps,
            bound=math.e,
            max_len=2,
            harmonic_norms=parts[: degree + 1],
            tail_bound=tail,
        )
        assert prefix.parameters.tail_bound == tail
        assert pa.sup_error(f, prefix, x) <= prefix.guaranteed <= eps
    with pytest.raises(ValueError, match="tail_bound"):
        pa.design_prefix(f, eps=0.5, bound=math.e, max_len=2, bandwidth=2, tail_bound=0.1)
    with pytest.raises(ValueError, match="tail_bound"):
        pa.design_prefix(
            f, eps=0.1, bound=math.e, max_len=2, harmonic_norms=parts[:2], tail_bound=0.2
        )


def test_fixb_design_prefix_checks_stated_harmonic_norms() -> None:
    import prefix_approx as pa

    with pytest.raises(ValueError, match="harmonic_norms"):
        pa.design_prefix(lambda x: x[:, 2:3], eps=0.9, bound=1.0, max_len=1, harmonic_norms=[0.0])
    with pytest.raises(ValueError, match="tail_bound"):
        pa.design_prefix(
            lambda x: torch.exp(3 * x[:, 2:3]),
            eps=30.0,
            bound=25.0,
            max_len=1,
            harmonic_norms=[1.0],
            tail_bound=0.1,
        )
    with pytest.raises(ValueError, match="mean of f"):  # max fits, the mean does not
        pa.design_prefix(
            lambda x: 1 + x[:, 2:3], eps=1.9, bound=2.0, max_len=1, harmonic_norms=[0.5, 1.5]
        )


def test_fixb_bandwidth_check_is_relative_to_bound() -> None:
    import prefix_approx as pa

    def f(x: torch.Tensor) -> torch.Tensor:
        z = x[:, 2]
        return (1e-6 * x[:, 0] + 1e-9 * (63 * z**5 - 70 * z**3 + 15 * z) / 8)[:, None]

    with pytest.raises(ValueError, match="bandwidth"):
        pa.design_prefix(f, eps=8e-10, bound=1.1e-6, max_len=1, bandwidth=1, deconvolve=True)


def test_fixb_funk_hecke_ratios_large_order_finite() -> None:
    import prefix_approx as pa
    from prefix_approx.design_prefixes import _recurrence_ratios

    for m in (1000, 10**9):
        rho = pa.funk_hecke_ratios(1.0, m, 3).numpy()
        assert np.isfinite(rho).all()
        nu = (m - 1) / 2
        assert abs(rho[1] * (2 * (nu + 1) + 1.0 / (2 * (nu + 2))) - 1) < 1e-6
    # the recurrence agrees with scipy's ive where both work
    for lam, m in ((50.0, 41), (3.0, 2), (400.0, 3)):
        nu = (m - 1) / 2
        ref = pa.funk_hecke_ratios(lam, m, 40).numpy()
        assert np.allclose(_recurrence_ratios(lam, nu, 40), ref, rtol=1e-12, atol=1e-300)


def test_fixb_design_error_bound_lam_and_overflow() -> None:
    import prefix_approx as pa

    with pytest.raises(ValueError, match="lam must be at most MAX_DESIGN_LAM"):
        pa.design_error_bound(
            [1.0], m=2, strength=2, defect=0.0, lam=6e5, n_points=10, max_len=1, bound=1.0
        )
    value = pa.design_error_bound(
        [1.0], m=2, strength=2, defect=0.0, lam=1e-3, n_points=1, max_len=10**6, bound=1e308
    )
    assert value == math.inf
