"""Targets that chapters and tests share, with the constants their guarantees need.

A guarantee is only as good as what is known about the target: its bound, its Lipschitz
constant, or its Fourier norms with a bound on the rest of its spectrum. The targets here
carry those constants, derived in the docstrings, so that chapters and tests use one copy.
"""

from __future__ import annotations

import math

import torch
from scipy.special import iv

from ._validation import check_positive_int

__all__ = ["exp_sin_fourier_norms"]


def exp_sin_fourier_norms(n_max: int = 40) -> tuple[torch.Tensor, float]:
    """Fourier norms a_n = |f_n| + |f_-n| (a_0 = |f_0|) of f(t) = exp(sin t) for n = 0..n_max,
    shape (n_max + 1,), and a bound on the sup norm of the frequencies above n_max.

    From the generating function exp((z - 1/z) x / 2) = sum_n J_n(x) z^n with x = -i:
    |f_n| = I_|n|(1), so a_0 = I_0(1) and a_n = 2 I_n(1). The tail: I_n(1) <= 2^-n e^(1/4) / n!
    (the series of I_n, each term bounded by its k = 0 term times (1/4)^k / k!), so the
    frequencies above M sum to at most 2 e^(1/4) sum_(n > M) 2^-n / n!, below twice its first
    term. Raises ValueError for n_max < 1 or n_max > 10^4.

    Used in: book/beyond_saturation.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    n_max = check_positive_int(n_max, "n_max", maximum=10_000)
    orders = torch.arange(n_max + 1, dtype=torch.float64)
    values = torch.from_numpy(iv(orders.numpy(), 1.0))
    norms = 2.0 * values
    norms[0] = values[0]
    first = n_max + 1
    log_first = -first * math.log(2.0) - math.lgamma(first + 1)
    tail = 2.0 * math.exp(0.25) * 2.0 * math.exp(log_first)
    return norms, tail
