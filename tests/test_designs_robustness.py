"""Regression tests: designs.py refuses runaway work and explains narrow-dtype points."""

from __future__ import annotations

import math
import time

import pytest
import torch

import prefix_approx as pa


def test_design_defects_refuses_runaway_work() -> None:
    """Regression: 2896 points at t = 400 ran for minutes; now refused at once."""
    start = time.perf_counter()
    with pytest.raises(ValueError, match="max_work"):
        pa.design_defects(pa.random_sphere_points(2896, 2, seed=0), 400)
    with pytest.raises(ValueError, match=r"N\^2 \(t \+ 1\)"):
        pa.design_defects(pa.random_sphere_points(1000, 2, seed=0), 400)
    assert time.perf_counter() - start < 5
    # a larger budget is accepted (small case, so the test stays fast)
    x = pa.random_sphere_points(20, 2, seed=0)
    assert pa.design_defects(x, 3, max_work=math.inf).shape == (3,)
    with pytest.raises(ValueError, match="max_work"):
        pa.design_defects(x, 3, max_work=100)
    with pytest.raises(ValueError, match="max_work"):
        pa.design_defects(x, 3, max_work=-1.0)


def test_compute_spherical_design_refuses_runaway_work() -> None:
    """Regression: t = 60 (1891+ points) and t = 13 on S^3 ran for minutes."""
    with pytest.raises(ValueError, match="max_work"):
        pa.compute_spherical_design(60)
    with pytest.raises(ValueError, match="max_iter"):
        pa.compute_spherical_design(13, m=3)
    with pytest.raises(ValueError, match="max_work"):
        pa.compute_spherical_design(2, max_work=10)


def test_harmonic_dimension_refuses_huge_exact_binomial() -> None:
    """Regression: harmonic_dimension(10**6, 10**6) took 71 s."""
    start = time.perf_counter()
    with pytest.raises(ValueError, match="decimal digits"):
        pa.harmonic_dimension(10**6, 10**6)
    assert time.perf_counter() - start < 1
    assert pa.harmonic_dimension(2, 10**15) == 2 * 10**15 + 1
    assert pa.harmonic_dimension(3, 10) == 121


def test_design_defects_accepts_float32_unit_vectors() -> None:
    """Regression: float32 unit vectors failed with 'norm 1 within 1e-9' and no hint."""
    x = pa.spherical_design(4).points.float()
    x = x / x.norm(dim=1, keepdim=True)
    defects = pa.design_defects(x, 4)
    assert float(defects.max()) < 1e-5
    # still sound: the bounds enclose the exact defects of x / |x| (float64 reference)
    exact = x.double() / x.double().norm(dim=1, keepdim=True)
    reference = pa.design_defects(exact, 4)
    assert torch.all(defects > 0) and torch.all(reference > 0)
    # far off the sphere in float32 still fails, now with a hint
    with pytest.raises(ValueError, match="Normalise"):
        pa.design_defects(x * 1.01, 4)
