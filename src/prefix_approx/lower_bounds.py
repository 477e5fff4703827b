"""Lower bounds on the prefix length: how close the book's upper bounds are to the best possible.

`packing_number_lower_bound` counts disjoint caps that certainly fit on S^m.
`continuous_prefix_length_lower_bound` is the book's lower bound for prefix rules that depend
continuously on the target (Theorem "Lower bound for continuous prefix rules" in the chapter
on Theorem 4): a topological argument (Borsuk-Ulam) on a family of bumps in disjoint caps.
`continuous_prefix_size_lower_bound_on_cube` is the same bound for sequence maps on [0, 1]^n,
counted in numbers over all the prefixes of a model. `prefix_weight_upper_bound` bounds the
attention a fixed prefix keeps against T input tokens, for any head.

These are the book's own results; the paper states no lower bound, and as far as we know none
was published for approximation by prefixes.
"""

from __future__ import annotations

import math

from ._validation import as_float64, check_positive_float, check_positive_int
from .sphere import _cap_fraction, _count_from_log_fraction, _log_cap_fraction

__all__ = [
    "continuous_prefix_length_lower_bound",
    "continuous_prefix_size_lower_bound_on_cube",
    "packing_number_lower_bound",
    "prefix_weight_upper_bound",
]


def _check_class(eps: object, lipschitz: object, bound: object) -> tuple[float, float, float]:
    """eps, L and B of a lower bound, checked: finite and > 0, and eps < B (for eps >= B the
    zero output already meets eps and no prefix is needed)."""
    eps = check_positive_float(eps, "eps")
    lipschitz = check_positive_float(lipschitz, "lipschitz")
    bound = check_positive_float(bound, "bound")
    if not eps < bound:
        raise ValueError(
            f"the lower bound needs eps < bound; got eps = {eps:g}, bound = {bound:g} (for "
            "eps >= bound the zero output already meets eps and no prefix is needed)"
        )
    return eps, lipschitz, bound


def packing_number_lower_bound(m: int, radius: float) -> int:
    """A number of pairwise disjoint open caps of geodesic radius `radius` that certainly fit
    on S^m: ceil(1 / cap_fraction(m, 2 radius)).

    Proof: take centres pairwise at least 2 radius apart, as many as fit (a maximal set).
    Their open caps of radius `radius` are disjoint, and by maximality the caps of radius
    2 radius cover S^m, so there are at least 1 / cap_fraction(m, 2 radius) centres.

    Raises TypeError or ValueError, naming the argument, for m not an integer >= 1 or a radius
    that is not a finite number > 0, and ValueError when the count passes 10^4000; up to there
    it is an exact int computed from the logarithm of the cap fraction where the fraction is
    below float range, less a relative margin of 1e-12 for rounding.

    Used in: no chapter by name (continuous_prefix_length_lower_bound counts caps with it).
    """
    m = check_positive_int(m, "m")
    radius = check_positive_float(radius, "radius")
    return _caps_count(
        m,
        min(2.0 * radius, math.pi),
        1,
        f"the number of caps of radius {radius:g} that fit on S^{m}",
        "Use a larger radius or a smaller m.",
    )


def _caps_count(m: int, cap_radius: float, per_cap: int, what: str, advice: str) -> int:
    """ceil(1 / (per_cap cap_fraction(m, cap_radius))), a proved lower bound: from the fraction
    itself while it is a normal float (less 1e-9, or 1e-12 relative, for rounding), else from
    its logarithm; ValueError past 10^4000."""
    fraction = _cap_fraction(m, cap_radius)
    if fraction > 1e-290:
        value = 1.0 / (per_cap * fraction)
        return max(1, math.ceil(value - max(1e-9, 1e-12 * value)))
    log_inverse = -_log_cap_fraction(m, cap_radius) - math.log(per_cap)
    return _count_from_log_fraction(log_inverse, what, advice)


def continuous_prefix_length_lower_bound(
    m: int, *, eps: float, lipschitz: float, bound: float, token_dim: int
) -> int:
    """The fewest prefix tokens any continuous prefix rule needs for sup error `eps` on the
    L-Lipschitz targets S^m -> R bounded by B (the book's lower bound).

    Setting: a prefix rule maps each target f to N tokens of `token_dim` = D numbers,
    continuously for the sup norm, and some decoder (any head, any function of the prefix and
    the point) reaches sup error at most eps for every target of the class. Then
    N D >= 1 / cap_fraction(m, 2 eps / L), hence N >= ceil(1 / (D cap_fraction(m, 2 eps / L))),
    which grows like (L / eps)^m. Needs eps < B (for eps >= B the decoder 0 already does it).
    The prefixes of `build_prefix` (result C) come from such a rule, with D = 2(m+1) + 1.

    Raises TypeError or ValueError, naming the argument, for a wrong type or a value out of
    range (m, token_dim integers >= 1; eps, lipschitz, bound finite and > 0; eps < bound),
    and ValueError when the count passes 10^4000 (below float range it is computed from the
    logarithm of the cap fraction, with 2 eps / L as (eps / L) * 2 so that L = 1e308 does not
    round it to 0).

    Used in: book/theorem4_jackson_bounds.ipynb.
    """
    m = check_positive_int(m, "m")
    eps, lipschitz, bound = _check_class(eps, lipschitz, bound)
    token_dim = check_positive_int(token_dim, "token_dim")
    cap_radius = min(2.0 * (eps / lipschitz), math.pi)
    if not cap_radius > 0.0:
        raise ValueError(
            f"eps / lipschitz = {eps:g} / {lipschitz:g} rounds to 0: the number of caps is "
            "beyond any float; use a larger eps or a smaller lipschitz"
        )
    return _caps_count(
        m,
        cap_radius,
        token_dim,
        f"the lower bound for eps = {eps:g}, lipschitz = {lipschitz:g} on S^{m} "
        f"(token_dim = {token_dim})",
        "Use a larger eps, a smaller lipschitz or a smaller m.",
    )


def continuous_prefix_size_lower_bound_on_cube(
    n: int, *, eps: float, lipschitz: float, bound: float
) -> int:
    """The fewest numbers, over all the prefixes of all layers together, that any continuous
    prefix rule needs for sup error `eps` on the L-Lipschitz maps g: [0, 1]^n -> R bounded by
    B (one output position suffices), whatever the fixed model that reads them: at least
    (ceil(L / (2 eps)) - 1)^n, which grows like (L / (2 eps))^n. Needs eps < B.

    The proof is that of the lower bound on the sphere, with bumps in disjoint cubes of
    half-width rho > eps / L: floor(1 / (2 rho)) of them fit along each axis.

    Raises TypeError or ValueError, naming the argument, for a wrong type or a value out of
    range (n an integer >= 1; eps, lipschitz, bound finite and > 0; eps < bound), and
    ValueError, naming eps, lipschitz and n, when the count passes 10^300 (estimated from
    logarithms, as L / (2 eps) overflows a float at L = 1e308).

    Used in: book/seq2seq_universality.ipynb.
    """
    n = check_positive_int(n, "n")
    eps, lipschitz, bound = _check_class(eps, lipschitz, bound)
    log10_ratio = math.log10(lipschitz) - math.log10(2.0 * eps)  # L / (2 eps) may overflow
    if n * log10_ratio > 300:
        raise ValueError(
            f"the count (ceil(lipschitz / (2 eps)) - 1)^n is about 10^{n * log10_ratio:.0f} "
            f"for lipschitz = {lipschitz:g}, eps = {eps:g}, n = {n}: too large to return (more "
            "than 10^300); use a larger eps, a smaller lipschitz or a smaller n"
        )
    per_axis = math.ceil(lipschitz / (2.0 * eps)) - 1
    if per_axis <= 1:
        return 1
    return per_axis**n


def prefix_weight_upper_bound(log_prefix_normaliser: float, n_inputs: int, floor: float) -> float:
    """An upper bound on the share rho = Z_P / (Z_P + Z_X) of attention that a fixed prefix
    keeps against `n_inputs` = T input tokens, for any head: if every input token's score is
    at least `floor` = -kappa, then Z_X >= T e^(-kappa) and
    rho <= Z_P / (Z_P + T e^(-kappa)) = sigmoid(log Z_P - log T + kappa), which tends to 0 as
    T grows. Computed in the log domain, so any log Z_P is accepted.

    Raises TypeError or ValueError, naming the argument, for a log normaliser or floor that is
    not a finite number, or n_inputs not an integer >= 1.

    Used in: book/corollary2_elementwise.ipynb.
    """
    log_z = float(as_float64([log_prefix_normaliser], "log_prefix_normaliser")[0])
    n_inputs = check_positive_int(n_inputs, "n_inputs")
    floor = float(as_float64([floor], "floor")[0])
    t = log_z - math.log(n_inputs) - floor
    # sigmoid(t), without overflow for either sign of t
    return 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t))
