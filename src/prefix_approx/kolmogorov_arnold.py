"""Kolmogorov-Arnold representations of sequence-to-sequence targets.

A target g maps a sequence of n scalars x = (x_0, ..., x_(n-1)) in [0, 1]^n to n outputs in
R^k, one per position j. A representation of g with Q terms is

    g_j(x) = sum_(q < Q) chi_(j,q)( mean_p psi_(p,q)(x_p) ),

with continuous inner functions psi_(p,q): [0, 1] -> R (shared by all output positions) and
outer functions chi_(j,q): R -> R^k. (Using the mean instead of the sum only rescales the
argument of chi.) The Kolmogorov-Arnold theorem says that Q = 2n + 1 terms suffice for every
continuous g. The explicit representations here need at most that many, and carry the
constants the prefixed transformer's error budget needs: ranges and, per function, a Lipschitz
constant or a modulus of continuity (for a function that is continuous but not Lipschitz).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ._validation import (
    ArrayLike,
    as_float64,
    check_positive_float,
    check_positive_int,
    check_sequences,
)

__all__ = [
    "KARepresentation",
    "ka_centering",
    "ka_log_sum_exp",
    "ka_product",
    "ka_root_mean",
    "ka_shift",
    "ka_times_mean",
]

Inner = Callable[[torch.Tensor, int, int], torch.Tensor]
Outer = Callable[[torch.Tensor, int, int], torch.Tensor]
Modulus = Callable[[float], float]


@dataclass(frozen=True)
class KARepresentation:
    """An explicit representation g_j(x) = sum_q chi_(j,q)(mean_p psi_(p,q)(x_p)).

    `inner(x, p, q)` maps tokens x (B,) at position p to psi_(p,q)(x) (B,); `outer(z, j, q)`
    maps means z (B,) to chi_(j,q)(z) (B, k). `terms` lists the q with a nonzero
    contribution. Per term: `inner_range[q]` = (lo, hi) contains every psi_(p,q) value,
    `mean_range[q]` every mean, `inner_lipschitz[q]` bounds |d psi / dx|, and
    `outer_lipschitz[q]` bounds the Lipschitz constant of every chi_(j,q) (Euclidean norm, in
    z) on the mean range widened by `margin` on each side. `target(x)` (B, n) -> (B, n, k) is
    g written directly, to check the representation against.

    A function that is continuous but not Lipschitz gets a modulus of continuity instead:
    `inner_modulus[q]` = w with |psi_(p,q)(x) - psi_(p,q)(x')| <= w(|x - x'|) for every p, and
    `outer_modulus[q]` = w with |chi_(j,q)(z) - chi_(j,q)(z')| <= w(|z - z'|) for every j on
    the widened mean range; w must be nondecreasing with w(t) -> 0 as t -> 0. Where a term
    has one, `ka_prefixes` uses it in place of the Lipschitz constant, which may then be
    math.inf. Both default to none (every function Lipschitz).

    Used in: book/course.ipynb, book/kolmogorov_arnold.ipynb.
    """

    name: str
    n: int
    k: int
    terms: tuple[int, ...]
    inner: Inner
    outer: Outer
    inner_range: dict[int, tuple[float, float]]
    mean_range: dict[int, tuple[float, float]]
    inner_lipschitz: dict[int, float]
    outer_lipschitz: dict[int, float]
    target: Callable[[torch.Tensor], torch.Tensor]
    margin: float = 0.05
    inner_modulus: dict[int, Modulus] = field(default_factory=dict)
    outer_modulus: dict[int, Modulus] = field(default_factory=dict)

    def evaluate(self, x: ArrayLike) -> torch.Tensor:
        """g computed through the representation, (B, n) -> (B, n, k), float64.

        Raises ValueError for x not of shape (B, n) in [0, 1], and ValueError naming the
        function when `inner` does not return finite values of shape (B,) or `outer` of
        shape (B, k).
        """
        seq = check_sequences(x, self.n)
        out = torch.zeros((seq.shape[0], self.n, self.k), dtype=torch.float64)
        for q in self.terms:
            values = [_inner_values(self, seq[:, p], p, q) for p in range(self.n)]
            mean = torch.stack(values, 1).mean(1)
            for j in range(self.n):
                out[:, j] += _outer_values(self, mean, j, q)
        return out

    def __call__(self, x: ArrayLike) -> torch.Tensor:
        """g written directly, (B, n) -> (B, n, k), float64. Raises ValueError when `target`
        does not return finite values of that shape."""
        seq = check_sequences(x, self.n)
        out = as_float64(self.target(seq), f"representation {self.name!r} target(x)")
        if out.shape != (seq.shape[0], self.n, self.k):
            raise ValueError(
                f"representation {self.name!r}: target(x) must return shape (B, n, k) = "
                f"({seq.shape[0]}, {self.n}, {self.k}); got {tuple(out.shape)}"
            )
        return out


def _inner_values(rep: KARepresentation, x: torch.Tensor, p: int, q: int) -> torch.Tensor:
    """rep.inner(x, p, q) for tokens x (B,), checked: finite, shape (B,)."""
    name = f"representation {rep.name!r}: inner(x, {p}, {q})"
    values = as_float64(rep.inner(x, p, q), name)
    if values.shape != x.shape:
        raise ValueError(
            f"{name} must return one value per token, shape (B,) = {tuple(x.shape)}; got "
            f"shape {tuple(values.shape)}"
        )
    return values


def _outer_values(rep: KARepresentation, z: torch.Tensor, j: int, q: int) -> torch.Tensor:
    """rep.outer(z, j, q) for means z (B,), checked: finite, shape (B, k)."""
    name = f"representation {rep.name!r}: outer(z, {j}, {q})"
    values = as_float64(rep.outer(z, j, q), name)
    if values.shape != (z.shape[0], rep.k):
        raise ValueError(
            f"{name} must return shape (B, k) = ({z.shape[0]}, {rep.k}) for means z of "
            f"shape (B,); got shape {tuple(values.shape)}"
        )
    return values


def ka_centering(n: int) -> KARepresentation:
    """g_j(x) = x_j - mean(x): term q = p isolates x_p (psi_(p,q) = n x_p [p = q]), term n
    carries the mean. Uses n + 1 of the 2n + 1 terms.

    Used in: book/kolmogorov_arnold.ipynb, book/prefix_mixing.ipynb,
    book/seq2seq_universality.ipynb.
    """
    n = check_positive_int(n, "n")

    def inner(x: torch.Tensor, p: int, q: int) -> torch.Tensor:
        if q < n:
            return n * x if p == q else torch.zeros_like(x)
        return x.clone()

    def outer(z: torch.Tensor, j: int, q: int) -> torch.Tensor:
        if q < n:
            return (z if q == j else torch.zeros_like(z))[:, None]
        return -z[:, None]

    terms = tuple(range(n + 1))
    return KARepresentation(
        name="centering",
        n=n,
        k=1,
        terms=terms,
        inner=inner,
        outer=outer,
        inner_range={q: (0.0, float(n)) if q < n else (0.0, 1.0) for q in terms},
        mean_range={q: (0.0, 1.0) for q in terms},
        inner_lipschitz={q: float(n) if q < n else 1.0 for q in terms},
        outer_lipschitz={q: 1.0 for q in terms},
        target=lambda x: (x - x.mean(1, keepdim=True))[..., None],
    )


def ka_shift(n: int) -> KARepresentation:
    """g_j(x) = x_(j-1) (and x_(n-1) at j = 0): output the previous token, cyclically.

    Used in: book/kolmogorov_arnold.ipynb, book/prefix_mixing.ipynb.
    """
    n = check_positive_int(n, "n")

    def inner(x: torch.Tensor, p: int, q: int) -> torch.Tensor:
        return n * x if p == q else torch.zeros_like(x)

    def outer(z: torch.Tensor, j: int, q: int) -> torch.Tensor:
        return (z if q == (j - 1) % n else torch.zeros_like(z))[:, None]

    terms = tuple(range(n))
    return KARepresentation(
        name="shift",
        n=n,
        k=1,
        terms=terms,
        inner=inner,
        outer=outer,
        inner_range={q: (0.0, float(n)) for q in terms},
        mean_range={q: (0.0, 1.0) for q in terms},
        inner_lipschitz={q: float(n) for q in terms},
        outer_lipschitz={q: 1.0 for q in terms},
        target=lambda x: x.roll(1, dims=1)[..., None],
    )


def ka_times_mean(n: int) -> KARepresentation:
    """g_j(x) = x_j * mean(x), by x y = ((x + y)^2 - (x - y)^2) / 4 with x = x_j and y = the
    mean: term j carries x_j + mean, term n + j carries x_j - mean. Uses 2n of the 2n + 1
    terms.

    Used in: book/kolmogorov_arnold.ipynb, book/prefix_mixing.ipynb,
    book/seq2seq_universality.ipynb.
    """
    n = check_positive_int(n, "n")

    def inner(x: torch.Tensor, p: int, q: int) -> torch.Tensor:
        j, sign = (q, 1.0) if q < n else (q - n, -1.0)
        own = n * x if p == j else torch.zeros_like(x)
        return own + sign * x

    def outer(z: torch.Tensor, j: int, q: int) -> torch.Tensor:
        own, sign = (q, 1.0) if q < n else (q - n, -1.0)
        return (sign * z * z / 4 if own == j else torch.zeros_like(z))[:, None]

    terms = tuple(range(2 * n))
    # Term q < n: psi in [0, n + 1], mean x_j + mean(x) in [0, 2];
    # term q >= n: psi in [-1, n - 1], mean x_j - mean(x) in [-1, 1].
    ranges = {q: ((0.0, float(n + 1)) if q < n else (-1.0, float(n - 1))) for q in terms}
    means = {q: ((0.0, 2.0) if q < n else (-1.0, 1.0)) for q in terms}
    return KARepresentation(
        name="x_j times the mean",
        n=n,
        k=1,
        terms=terms,
        inner=inner,
        outer=outer,
        inner_range=ranges,
        mean_range=means,
        inner_lipschitz={q: float(n + 1) for q in terms},
        outer_lipschitz={q: (2.0 + 0.05) / 2 for q in terms},
        target=lambda x: (x * x.mean(1, keepdim=True))[..., None],
    )


def ka_root_mean(n: int) -> KARepresentation:
    """g_j(x) = sqrt(mean(x)) at every position, one term: psi(x) = x and
    chi(z) = sqrt(max(z, 0)). The outer function is not Lipschitz (its slope is unbounded near
    z = 0); it carries the modulus of continuity w(t) = sqrt(t), since
    |sqrt(a) - sqrt(b)| <= sqrt(|a - b|) for a, b >= 0 and z -> max(z, 0) moves no two points
    further apart. Its Lipschitz constant is recorded as math.inf.

    Used in: book/kolmogorov_arnold.ipynb, book/seq2seq_universality.ipynb.
    """
    n = check_positive_int(n, "n")

    def inner(x: torch.Tensor, p: int, q: int) -> torch.Tensor:
        return x.clone()

    def outer(z: torch.Tensor, j: int, q: int) -> torch.Tensor:
        return torch.sqrt(z.clamp(min=0.0))[:, None]

    return KARepresentation(
        name="root of the mean",
        n=n,
        k=1,
        terms=(0,),
        inner=inner,
        outer=outer,
        inner_range={0: (0.0, 1.0)},
        mean_range={0: (0.0, 1.0)},
        inner_lipschitz={0: 1.0},
        outer_lipschitz={0: math.inf},
        target=lambda x: torch.sqrt(x.mean(1, keepdim=True)).expand(-1, n)[..., None],
        outer_modulus={0: math.sqrt},
    )


#: Natural log of the largest finite float64: a derived constant exp(c) is finite iff c <= this.
_LOG_FLOAT64_MAX = math.log(torch.finfo(torch.float64).max)

#: The inverse temperatures `ka_log_sum_exp` accepts (see its docstring).
LOG_SUM_EXP_BETA_RANGE = (1e-3, 1400.0)


def _smooth_maximum(x: torch.Tensor, beta: float) -> torch.Tensor:
    """(1/beta) log(mean_p exp(beta x_p)) for x (B, n), (B,), accurate for every beta > 0:
    with d_p = x_p - max x <= 0 it equals max x + log1p(mean expm1(beta d)) / beta, which
    neither overflows at large beta nor cancels at small beta."""
    top = x.amax(dim=1)
    d = x - top[:, None]
    return top + torch.log1p(torch.expm1(beta * d).mean(dim=1)) / beta


def ka_log_sum_exp(n: int, beta: float = 4.0) -> KARepresentation:
    """g_j(x) = (1/beta) log( mean_p exp(beta x_p) ) at every position: a smooth maximum
    (within log(n)/beta of max_p x_p). One term: psi(x) = exp(beta (x - 1/2)), in
    [e^(-beta/2), e^(beta/2)], and chi(z) = 1/2 + log(z) / beta.

    Centring the exponent at 1/2 keeps every derived constant finite: the largest, the
    Lipschitz constant beta e^(beta/2) of psi, stays below float64's limit for beta up to
    about 1400. `beta` must lie in LOG_SUM_EXP_BETA_RANGE = [1e-3, 1400]: above it the
    constants overflow, below it psi rounds to 1 and the representation loses the target
    (the target itself, `rep(x)`, is accurate for every beta). Raises ValueError outside.

    Used in: book/kolmogorov_arnold.ipynb, book/seq2seq_universality.ipynb.
    """
    n = check_positive_int(n, "n")
    beta = check_positive_float(beta, "beta")
    low, high = LOG_SUM_EXP_BETA_RANGE
    if not low <= beta <= high:
        raise ValueError(
            f"beta must lie in [{low:g}, {high:g}] for this representation; got {beta:g}. "
            "Above it its Lipschitz constant beta e^(beta/2) overflows float64; below it "
            "exp(beta (x - 1/2)) rounds to 1 and the representation loses the target."
        )

    def inner(x: torch.Tensor, p: int, q: int) -> torch.Tensor:
        return torch.exp(beta * (x - 0.5))

    def outer(z: torch.Tensor, j: int, q: int) -> torch.Tensor:
        return (0.5 + torch.log(z) / beta)[:, None]

    # psi ranges over [lo, hi] = [e^(-beta/2), e^(beta/2)]; the outer domain is widened by
    # half of lo on each side, where chi' = 1/(beta z) is at most 2 / (beta lo).
    lo, hi = math.exp(-beta / 2), math.exp(beta / 2)
    margin = 0.5 * lo
    return KARepresentation(
        name="smooth maximum",
        n=n,
        k=1,
        terms=(0,),
        inner=inner,
        outer=outer,
        inner_range={0: (lo, hi)},
        mean_range={0: (lo, hi)},
        inner_lipschitz={0: beta * hi},
        outer_lipschitz={0: 1.0 / (beta * (lo - margin))},
        target=lambda x: _smooth_maximum(x, beta)[:, None, None].expand(-1, n, 1),
        margin=margin,
    )


def ka_product(n: int) -> KARepresentation:
    """g_j(x) = prod_p (1 + x_p) at every position, as exp(n * mean_p log(1 + x_p)).

    The product reaches 2^n and chi's Lipschitz constant n e^(n (log 2 + margin)) must be a
    finite float64, so n may be at most KA_PRODUCT_MAX_N (ValueError above it).

    Used in: book/kolmogorov_arnold.ipynb, book/seq2seq_universality.ipynb.
    """
    n = check_positive_int(n, "n")
    margin = 0.05
    if n > KA_PRODUCT_MAX_N:
        raise ValueError(
            f"n must be at most {KA_PRODUCT_MAX_N} for the product representation; got {n}: "
            "its outer Lipschitz constant n e^(n (log 2 + 0.05)) overflows float64 beyond"
        )

    def inner(x: torch.Tensor, p: int, q: int) -> torch.Tensor:
        return torch.log1p(x)

    def outer(z: torch.Tensor, j: int, q: int) -> torch.Tensor:
        return torch.exp(n * z)[:, None]

    return KARepresentation(
        name="product",
        n=n,
        k=1,
        terms=(0,),
        inner=inner,
        outer=outer,
        inner_range={0: (0.0, math.log(2.0))},
        mean_range={0: (0.0, math.log(2.0))},
        inner_lipschitz={0: 1.0},
        outer_lipschitz={0: n * math.exp(n * (math.log(2.0) + margin))},
        target=lambda x: torch.prod(1 + x, 1, keepdim=True).expand(-1, n)[..., None],
        margin=margin,
    )


def _largest_product_n(margin: float = 0.05) -> int:
    """Largest n with log(n) + n (log 2 + margin) <= log(float64 max)."""
    n = int(_LOG_FLOAT64_MAX / (math.log(2.0) + margin))
    while math.log(n) + n * (math.log(2.0) + margin) > _LOG_FLOAT64_MAX:
        n -= 1
    return n


#: Largest n for which `ka_product(n)` has finite constants.
KA_PRODUCT_MAX_N = _largest_product_n()
