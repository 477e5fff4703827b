"""The core head: one attention head with fixed weights that a prefix turns into an
approximation of any continuous function on the sphere S^m.

Token layout (hidden size D = 2(m+1) + k):

    input token   [x; 0; 0]          x in S^m
    prefix token  [0; lam c; v]      control point c in S^m, value v in R^k
    W_Q = [I 0 0],  W_K = [0 I 0],  W_V = [0 0 I]

so an input x scores lam <x, c_j> against prefix token j and 0 against every input token,
and input tokens carry the value 0. With T input tokens in its context, x receives

    H(x) = sum_j exp(lam <x, c_j>) v_j / ( sum_j exp(lam <x, c_j>) + T ).

The weights depend on m and k only. Everything that depends on the target, including the
inverse temperature lam, lives in the prefix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from ._validation import (
    ArrayLike,
    as_float64,
    as_sphere_points,
    check_flag,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    evaluate_target,
)
from .attention import (
    DEFAULT_BLOCK_ELEMENTS,
    DEFAULT_MAX_WEIGHTS,
    AttentionHead,
    PartialAttention,
    _check_weight_budget,
    merge_partial,
)
from .bounds import (
    MAX_SEQUENCE_LENGTH,
    DensityParameters,
    SmoothParameters,
    density_parameters,
    lipschitz_delta,
    modulus_delta,
    smooth_circle_parameters,
)
from .sphere import (
    DEFAULT_MAX_POINTS,
    SphereNet,
    circle_points,
    delta_net,
    geodesic_distance,
    nearest_point,
)

if TYPE_CHECKING:  # paper_route, deconvolution and design_prefixes import this module
    from .deconvolution import DeconvolutionParameters
    from .design_prefixes import DesignParameters
    from .paper_route import PaperRouteParameters

__all__ = [
    "MIN_LAM",
    "CoreHead",
    "CorePrefix",
    "build_prefix",
    "circle_fourier_norms",
    "core_prefix",
    "smooth_circle_prefix",
    "sup_error",
]


@dataclass(frozen=True)
class CorePrefix:
    """A prefix for `CoreHead(m, k)`: `tokens` (N, 2(m+1) + k), one row [0; lam c_j; v_j]
    per control point, and what it was built from. `lam` is the inverse temperature;
    `parameters` holds the choices and the guaranteed error when the prefix came from
    `build_prefix` (result C), `smooth_circle_prefix` (result D), `paper_route_prefix`
    (the paper's route) or `deconvolved_circle_prefix` (deconvolved values), else None; `max_len` is
    the longest sequence the guarantee covers.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    tokens: torch.Tensor
    m: int
    k: int
    lam: float
    parameters: (
        DensityParameters
        | SmoothParameters
        | PaperRouteParameters
        | DeconvolutionParameters
        | DesignParameters
        | None
    ) = None
    max_len: int | None = None

    def __post_init__(self) -> None:
        # A guarantee belongs to the tokens and max_len it was computed for. The first prefix
        # that carries a parameters object (the builder's) records them; a prefix made later
        # with the same parameters but other tokens or a longer max_len (dataclasses.replace)
        # is refused here, and tokens edited in place are caught when `guaranteed` is read.
        if self.parameters is None:
            return
        stamp = _guarantee_stamp(self)
        recorded = _GUARANTEE_STAMPS.get(id(self.parameters))
        if recorded is None:
            _record_stamp(self.parameters, stamp)
        elif not _stamp_covers(recorded, stamp):
            raise ValueError(_STALE_GUARANTEE)

    def __len__(self) -> int:
        return self.tokens.shape[0]

    @property
    def control_points(self) -> torch.Tensor:
        """The control points c_j (N, m+1), read back from the key block (scaled by its largest
        entry first, so that lam up to 1.8e308 does not overflow the norm).

        Raises ValueError if a key block is all zero (a prefix built by hand or edited, e.g.
        with lam = 0): such a row has no direction, so its control point is undefined."""
        keys = _stored_tokens(self)[:, self.m + 1 : 2 * (self.m + 1)]
        largest = keys.abs().amax(dim=-1, keepdim=True)
        zero = torch.nonzero(largest[:, 0] == 0)
        if zero.numel():
            raise ValueError(
                f"prefix.tokens row {int(zero[0, 0])} (of {keys.shape[0]}) has an all-zero key "
                f"block (columns {self.m + 1}..{2 * self.m + 1}, which hold lam c_j): its control "
                "point is undefined. Each prefix token must be [0; lam c_j; v_j] with lam > 0 "
                "and c_j on the sphere (see core_prefix)."
            )
        keys = keys / largest
        return keys / torch.linalg.vector_norm(keys, dim=-1, keepdim=True)

    @property
    def values(self) -> torch.Tensor:
        """The values v_j (N, k)."""
        return _stored_tokens(self)[:, 2 * (self.m + 1) :]

    @property
    def guaranteed(self) -> float | None:
        """The sup error guaranteed for this prefix (results C or D, the paper's route,
        deconvolved values, designs), or None.

        Raises ValueError if the tokens were edited in place after the guarantee was computed
        (the guarantee no longer applies: rebuild, or drop it with
        dataclasses.replace(prefix, parameters=None))."""
        if self.parameters is None:
            return None
        recorded = _GUARANTEE_STAMPS.get(id(self.parameters))
        if recorded is not None and not _stamp_covers(recorded, _guarantee_stamp(self)):
            raise ValueError(_STALE_GUARANTEE)
        return self.parameters.guaranteed


class CoreHead(torch.nn.Module):
    """The core head for inputs on S^m and outputs in R^k: W_Q = [I 0 0], W_K = [0 I 0],
    W_V = [0 0 I] on tokens of size D = 2(m+1) + k. It knows nothing about any target.

    Call it as `head(x, prefix)` with points `x` (..., T, m+1) on S^m, one sequence of T
    tokens per leading index, and a `CorePrefix` (or its token tensor); it returns
    (..., T, k), the output at every position. Every position attends to the whole prefix
    and to the T input tokens of its sequence (with `causal=True`, to tokens 1..t only).

    It holds a plain `AttentionHead` (`.head`) with these weights and evaluates the prefix
    block with it; `w_query`, `w_key`, `w_value`, `d_model` and `d_value` are the head's.
    The weights are dense float64 matrices with (2(m+1) + k)^2 entries in all: ValueError,
    before allocating, past `max_weights` entries (default 2^27, 1 GiB).

    Its methods (`embed`, `forward`) carry no "Used in:" line of their own: the class's line
    below, derived from the notebooks that call `pa.CoreHead`, covers them.

    Used in: book/attention_prefixes_prompts.ipynb, book/course.ipynb,
    book/lemma3_core_head.ipynb, book/theorem1_density.ipynb,
    book/theorem4_jackson_bounds.ipynb.
    """

    def __init__(self, m: int, k: int, *, max_weights: int = DEFAULT_MAX_WEIGHTS) -> None:
        m = check_positive_int(m, "m")
        k = check_positive_int(k, "k")
        d = m + 1
        _check_weight_budget(
            (2 * d + k) ** 2, max_weights, f"CoreHead(m={m}, k={k})", "use a smaller m or k"
        )
        rows, columns = torch.arange(d), torch.arange(k)
        w_query = torch.zeros((d, 2 * d + k), dtype=torch.float64)
        w_key = torch.zeros((d, 2 * d + k), dtype=torch.float64)
        w_value = torch.zeros((k, 2 * d + k), dtype=torch.float64)
        w_query[rows, rows] = 1.0
        w_key[rows, d + rows] = 1.0
        w_value[columns, 2 * d + columns] = 1.0
        super().__init__()
        self.head = AttentionHead(w_query, w_key, w_value)
        self.m = m
        self.k = k

    @property
    def w_query(self) -> torch.Tensor:
        """W_Q = [I 0 0], shape (m+1, D)."""
        return self.head.w_query

    @property
    def w_key(self) -> torch.Tensor:
        """W_K = [0 I 0], shape (m+1, D)."""
        return self.head.w_key

    @property
    def w_value(self) -> torch.Tensor:
        """W_V = [0 0 I], shape (k, D)."""
        return self.head.w_value

    @property
    def d_model(self) -> int:
        """Token dimension D = 2(m+1) + k."""
        return self.head.d_model

    @property
    def d_value(self) -> int:
        """Output dimension k."""
        return self.head.d_value

    def extra_repr(self) -> str:
        return f"m={self.m}, k={self.k}, d_model={self.d_model}"

    def embed(self, x: ArrayLike) -> torch.Tensor:
        """Input tokens [x; 0; 0] (..., T, D), float64, for points `x` (..., T, m+1) on S^m
        (norm 1 within 1e-9 for float64 input; ValueError otherwise)."""
        points = as_sphere_points(x, "x", min_ndim=2, last_dim=self.m + 1)
        padding = torch.zeros((*points.shape[:-1], self.m + 1 + self.k), dtype=torch.float64)
        return torch.cat((points, padding), dim=-1)

    def _prefix_tokens(self, prefix: CorePrefix | ArrayLike) -> torch.Tensor:
        """The prefix's tokens, checked like any user input: a `CorePrefix` may have been
        built by hand or edited with `dataclasses.replace`, so its tokens pass the same
        conversion and checks (dtype, device, shape, finiteness) as a plain tensor."""
        if isinstance(prefix, CorePrefix):
            if (prefix.m, prefix.k) != (self.m, self.k):
                raise ValueError(
                    f"this prefix was built for CoreHead(m={prefix.m}, k={prefix.k}); "
                    f"the head is CoreHead(m={self.m}, k={self.k})"
                )
            prefix = prefix.tokens
        tokens = as_float64(prefix, "prefix", ndim=2)
        if tokens.shape[1] != self.d_model:
            raise ValueError(
                f"prefix tokens must have {self.d_model} = 2(m+1) + k columns for "
                f"CoreHead(m={self.m}, k={self.k}); got shape {tuple(tokens.shape)}"
            )
        if tokens.shape[0] == 0:
            raise ValueError("the prefix is empty: give at least one prefix token")
        return tokens

    def forward(
        self,
        x: ArrayLike,
        prefix: CorePrefix | ArrayLike,
        *,
        causal: bool = False,
        block_elements: int = DEFAULT_BLOCK_ELEMENTS,
    ) -> torch.Tensor:
        """Outputs (..., T, k) of the head at every position of the sequences `x`
        (..., T, m+1) with context [prefix, x].

        The prefix block is evaluated by the generic streaming softmax of `AttentionHead`.
        The input block is evaluated in closed form: every input scores 0 and carries the
        value 0, so it contributes log-normaliser log T (log t at position t if causal) and
        output 0. The tests check this against the generic evaluation.

        Differentiable in `x` and in the prefix tokens. Gradients in x: the formula is that
        of H extended to all of R^(m+1), but `x` is checked to lie on S^m (norm 1 within 1e-9),
        so `torch.autograd.gradcheck` in x with its default step (1e-6) steps off the sphere
        and is refused with a ValueError. Check gradients in x through a parametrisation of
        the sphere instead, e.g. x = (cos t, sin t) on S^1 (gradcheck in t), or x = y / |y|;
        only the tangential part of the gradient in x is meaningful for the head on S^m.
        Raises ValueError for x off the sphere, a prefix of another (m, k) or longer sequences
        than the prefix's `max_len`.
        """
        causal = check_flag(causal, "causal")
        tokens = self.embed(x)
        prefix_tokens = self._prefix_tokens(prefix)
        block_elements = check_positive_int(block_elements, "block_elements")
        n_inputs = tokens.shape[-2]
        max_len = prefix.max_len if isinstance(prefix, CorePrefix) else None
        if max_len is not None:  # may have been edited with dataclasses.replace
            max_len = check_positive_int(max_len, "prefix.max_len", maximum=MAX_SEQUENCE_LENGTH)
        if max_len is not None and n_inputs > max_len:
            raise ValueError(
                f"the sequences have T = {n_inputs} tokens, but this prefix guarantees its "
                f"error only for T <= max_len = {max_len} (each input token takes attention "
                "from the prefix). Build a prefix with a larger max_len."
            )
        if n_inputs == 0 or tokens.numel() == 0:
            return torch.zeros((*tokens.shape[:-1], self.k), dtype=torch.float64)
        from_prefix = self.head.attend(tokens, prefix_tokens, block_elements=block_elements)
        if causal:
            counts = torch.arange(1, n_inputs + 1, dtype=torch.float64)
        else:
            counts = torch.full((n_inputs,), float(n_inputs), dtype=torch.float64)
        from_inputs = PartialAttention(
            log_normaliser=torch.log(counts).expand(from_prefix.log_normaliser.shape),
            output=torch.zeros_like(from_prefix.output),
        )
        return merge_partial(from_prefix, from_inputs).output


#: What each builder's guarantee was computed for: (digest of the tokens, max_len), keyed by
#: the identity of the parameters object that holds the guarantee (not by equality: two
#: targets can share every parameter), and dropped when that object goes.
_GUARANTEE_STAMPS: dict[int, tuple[str, int | None]] = {}


def _record_stamp(parameters: object, stamp: tuple[str, int | None]) -> None:
    _GUARANTEE_STAMPS[id(parameters)] = stamp
    weakref.finalize(parameters, _GUARANTEE_STAMPS.pop, id(parameters), None)


_STALE_GUARANTEE = (
    "this prefix's tokens or max_len are not the ones its guarantee was computed for (edited "
    "in place or by dataclasses.replace): the guarantee does not apply. Rebuild the prefix, "
    "or drop the guarantee with dataclasses.replace(prefix, parameters=None)"
)


def _guarantee_stamp(prefix: CorePrefix) -> tuple[str, int | None]:
    """(digest of the tokens as float64, max_len); the digest of tokens that cannot be read
    as a float64 array is '' (they are refused with a clear message when used)."""
    try:
        tokens = as_float64(prefix.tokens, "prefix.tokens")
    except (TypeError, ValueError):
        return ("", prefix.max_len)
    data = tokens.detach().contiguous().cpu().numpy().tobytes()
    digest = hashlib.blake2b(data, digest_size=16).hexdigest() + str(tuple(tokens.shape))
    return (digest, prefix.max_len)


def _stamp_covers(recorded: tuple[str, int | None], stamp: tuple[str, int | None]) -> bool:
    """True if a prefix stamped `stamp` is covered by a guarantee recorded as `recorded`: the
    same tokens, and a max_len no longer than the recorded one (None: not yet recorded)."""
    if recorded[0] != stamp[0]:
        return False
    if recorded[1] is None:
        return True
    return stamp[1] is not None and stamp[1] <= recorded[1]


def _stored_tokens(prefix: CorePrefix) -> torch.Tensor:
    """A prefix's tokens (N, 2(m+1) + k) as a float64 tensor, checked like user input (the
    tokens may have been replaced by hand with a list, an array or another dtype)."""
    tokens = as_float64(prefix.tokens, "prefix.tokens", ndim=2)
    if tokens.shape[1] != 2 * (prefix.m + 1) + prefix.k:
        raise ValueError(
            f"prefix.tokens must have 2(m+1) + k = {2 * (prefix.m + 1) + prefix.k} columns; "
            f"got shape {tuple(tokens.shape)}"
        )
    return tokens


#: Smallest inverse temperature `core_prefix` accepts: lam c_j stays a normal float for every
#: coordinate of c_j above 1e-8 in size.
MIN_LAM = 1e-300


def core_prefix(control_points: ArrayLike, values: ArrayLike, lam: float) -> CorePrefix:
    """The prefix [0; lam c_j; v_j] for explicit control points `control_points` (N, m+1) on
    S^m, values `values` (N, k) and inverse temperature `lam` in [`MIN_LAM`, 1.8e308].

    Large lam on a fixed point set gives nearest-control-point (Voronoi) interpolation;
    lam of order N^(2/m) gives a normalised von Mises-Fisher kernel smoother.

    Used in: book/beyond_saturation.ipynb, book/corollary2_elementwise.ipynb, book/course.ipynb,
    book/lemma3_core_head.ipynb, book/spherical_designs.ipynb, book/theorem1_density.ipynb,
    book/theorem4_jackson_bounds.ipynb.
    """
    points = as_sphere_points(control_points, "control_points", ndim=2)
    vals = as_float64(values, "values", ndim=2)
    if vals.shape[0] != points.shape[0]:
        raise ValueError(
            f"need one value per control point: {points.shape[0]} control points, "
            f"{vals.shape[0]} values"
        )
    if points.shape[0] == 0:
        raise ValueError("control_points is empty: give at least one control point")
    if vals.shape[1] == 0:
        raise ValueError("values must have at least one column (k >= 1)")
    lam = check_positive_float(lam, "lam")
    if lam < MIN_LAM:
        raise ValueError(
            f"lam must be >= {MIN_LAM:g}; got {lam:g}: below it lam c_j underflows and the "
            "control points are lost (the head is a plain average from lam ~ 1e-17 on anyway)"
        )
    m = points.shape[1] - 1
    zeros = torch.zeros_like(points)
    tokens = torch.cat((zeros, lam * points, vals), dim=1)
    return CorePrefix(tokens=tokens, m=m, k=vals.shape[1], lam=lam)


def sup_error(
    f: Callable[[torch.Tensor], torch.Tensor],
    prefix: CorePrefix,
    x: ArrayLike,
    *,
    causal: bool = False,
) -> float:
    """Largest Euclidean error |H(x_t) - f(x_t)| of the core head with `prefix` over every
    position of the sequences `x` (..., T, m+1); pass points (Q, m+1) as x[:, None] for Q
    sequences of one token.

    Raises TypeError if `prefix` is not a `CorePrefix`, ValueError if x is empty (no
    position to take the largest error over), off the sphere or longer than the prefix's
    `max_len`, or if f returns the wrong number of values.

    Used in: book/beyond_saturation.ipynb, book/corollary2_elementwise.ipynb, book/course.ipynb,
    book/spherical_designs.ipynb, book/theorem1_density.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    if not isinstance(prefix, CorePrefix):
        raise TypeError(f"prefix must be a CorePrefix; got {type(prefix).__name__}")
    points = as_float64(x, "x", min_ndim=2, last_dim=prefix.m + 1)
    if points.numel() == 0:
        raise ValueError(
            f"x has no points (shape {tuple(points.shape)}): sup_error is a largest error over "
            "the positions of x, so give at least one sequence of at least one point"
        )
    output = CoreHead(prefix.m, prefix.k)(points, prefix, causal=causal)
    flat = points.reshape(-1, prefix.m + 1)
    values = evaluate_target(f, flat)
    if values.shape[1] != prefix.k:
        raise ValueError(
            f"f must return k = {prefix.k} values per point, as the prefix does; got shape "
            f"{tuple(values.shape)}"
        )
    target = values.reshape(output.shape)
    return float(torch.linalg.vector_norm(output - target, dim=-1).max())


def _check_bound(values: torch.Tensor, bound: float) -> None:
    """Raise ValueError if some value (a row of `values`) exceeds `bound` in Euclidean norm."""
    largest = float(torch.linalg.vector_norm(values, dim=1).max())
    if largest > bound * (1 + 1e-12):
        raise ValueError(
            f"|f| reaches {largest:.6g} on a control point, above the stated bound {bound}"
        )


def _check_modulus_on_net(
    f: Callable[[torch.Tensor], torch.Tensor],
    values: torch.Tensor,
    net: SphereNet,
    modulus: Callable[[float], float],
    claim: str,
) -> None:
    """Necessary check of the claimed continuity: on up to 2000 control points spread over
    the net, f may not change by more than modulus(d) towards the nearest other point, nor
    towards the midpoint between them (which catches a target that oscillates so fast that
    its values at the control points alone look constant)."""
    n = len(net)
    if n < 2:
        return
    sample = torch.linspace(0, n - 1, min(n, 2000)).round().long().unique()
    points = net.points[sample]
    distance, nearest = nearest_point(points, net.points, exclude=sample)
    middle = points + net.points[nearest]
    norms = torch.linalg.vector_norm(middle, dim=1, keepdim=True)
    keep = norms[:, 0] > 1e-6  # antipodal neighbours have no midpoint
    middle = middle[keep] / norms[keep]
    checks = [
        (distance, torch.linalg.vector_norm(values[sample] - values[nearest], dim=1), "point"),
        (
            geodesic_distance(middle, points[keep]),
            torch.linalg.vector_norm(evaluate_target(f, middle) - values[sample][keep], dim=1),
            "midpoint",
        ),
    ]
    for distances, gaps, where in checks:
        allowed = torch.tensor([float(modulus(float(d))) for d in distances], dtype=torch.float64)
        excess = gaps - allowed * (1 + 1e-9) - 1e-12
        if len(excess) and (excess > 0).any():
            i = int(excess.argmax())
            raise ValueError(
                f"f is not {claim}: between a control point and its neighbouring {where} at "
                f"distance {float(distances[i]):.4g} it changes by {float(gaps[i]):.6g}, more "
                f"than {float(allowed[i]):.6g}."
            )


def build_prefix(
    f: Callable[[torch.Tensor], torch.Tensor],
    *,
    m: int,
    eps: float,
    bound: float,
    max_len: int,
    lipschitz: float | None = None,
    modulus: Callable[[float], float] | None = None,
    max_tokens: int = DEFAULT_MAX_POINTS,
) -> CorePrefix:
    """A prefix for `CoreHead(m, k)` that approximates f: S^m -> R^k to sup error `eps` at
    every position of every sequence of at most `max_len` tokens.

    `f` maps a float64 tensor of points (Q, m+1) to (Q, k), bounded by `bound` in Euclidean
    norm. Give exactly one of: `lipschitz`, a Lipschitz constant for the geodesic distance
    (result C: delta = eps / (4L)), or `modulus`, a modulus of continuity w with
    |f(x) - f(y)| <= w(d(x, y)) (Theorem 1: the largest delta with w(2 delta) <= eps/2).
    The construction: a delta-net (delta <= pi/4), values v_j = f(c_j), and the inverse
    temperature of `density_parameters`. The returned prefix records delta, lam, N and the
    guaranteed error (<= eps) in `.parameters`.

    Raises ValueError if f breaks the stated bound on a control point, or visibly breaks the
    stated continuity on neighbouring control points (a necessary check, not a proof: the
    constant or modulus stays the caller's responsibility between control points), and,
    before building anything, if the prefix would need more than `max_tokens` tokens.

    Used in: book/corollary2_elementwise.ipynb, book/course.ipynb, book/theorem1_density.ipynb,
    book/theorem4_jackson_bounds.ipynb.
    """
    m = check_positive_int(m, "m")
    eps = check_positive_float(eps, "eps")
    bound = check_positive_float(bound, "bound")
    max_len = check_positive_int(max_len, "max_len", maximum=MAX_SEQUENCE_LENGTH)
    if not callable(f):
        raise TypeError(f"f must be a function of points (Q, m+1) -> (Q, k); got {f!r:.60}")
    if (lipschitz is None) == (modulus is None):
        raise ValueError("give exactly one of lipschitz= or modulus=")
    if lipschitz is not None:
        constant = check_nonnegative_float(lipschitz, "lipschitz")
        delta = lipschitz_delta(eps=eps, lipschitz=constant)

        def continuity(t: float) -> float:
            return constant * t

        claim = f"{constant}-Lipschitz"
    else:
        delta = modulus_delta(modulus, eps=eps)  # type: ignore[arg-type]
        continuity = modulus  # type: ignore[assignment]
        claim = "continuous with the given modulus"
    max_tokens = check_positive_int(max_tokens, "max_tokens")
    try:
        net = delta_net(m, delta, max_points=max_tokens)
    except ValueError as err:
        if "max_points" not in str(err):
            raise
        raise ValueError(
            f"build_prefix at eps = {eps:g} on S^{m} needs a {delta:.3g}-net: {err} "
            "(here max_points is the keyword max_tokens)"
        ) from err
    values = evaluate_target(f, net.points)
    _check_bound(values, bound)
    _check_modulus_on_net(f, values, net, continuity, claim)
    parameters = density_parameters(
        eps=eps,
        near_error=float(continuity(2.0 * delta)),
        delta=delta,
        bound=bound,
        n_points=len(net),
        radius=net.radius,
        max_len=max_len,
    )
    prefix = core_prefix(net.points, values, parameters.lam)
    return dataclasses.replace(prefix, parameters=parameters, max_len=max_len)


def circle_fourier_norms(
    f: Callable[[torch.Tensor], torch.Tensor], *, n_samples: int = 4096
) -> torch.Tensor:
    """Norms a_n = |f_n| + |f_-n| (a_0 = |f_0|) of the Fourier coefficients of f: S^1 -> R^k,
    n = 0 .. n_samples/2 - 1, from the FFT of f at `n_samples` equally spaced points. Exact
    (to rounding) for trigonometric polynomials of degree < n_samples/2; for other smooth f
    an *estimate* whose error is the aliased tail of the spectrum (use it for a guarantee
    only through `smooth_circle_prefix(bandwidth=...)`, which checks the degree). Trailing
    norms below 1e-14 of the largest are dropped. Returns a float64 tensor (K,), K <=
    n_samples/2.

    Raises ValueError for n_samples < 4 or above MAX_FOURIER_SAMPLES (2^23: f at 8 million
    points and their FFT take about 16 k bytes each, k the number of outputs of f).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    n_samples = check_positive_int(n_samples, "n_samples", minimum=4)
    if n_samples > MAX_FOURIER_SAMPLES:
        raise ValueError(
            f"n_samples must be at most MAX_FOURIER_SAMPLES = 2^23 = {MAX_FOURIER_SAMPLES}; got "
            f"{n_samples} (f at that many points and their FFT would take about "
            f"{32 * n_samples / 2**30:.3g} GiB per output of f)"
        )
    a = _spectrum_norms(_circle_spectrum(f, n_samples))
    keep = int(torch.nonzero(a > 1e-14 * a.max()).max()) + 1 if a.max() > 0 else 1
    return a[:keep]


def _circle_spectrum(f: Callable[[torch.Tensor], torch.Tensor], n_samples: int) -> torch.Tensor:
    """Fourier coefficients (n_samples, k), complex, of f sampled at `circle_points(n)`,
    in FFT order (frequencies 0, 1, ..., then the negative ones). The callers bound
    n_samples by MAX_FOURIER_SAMPLES, so circle_points gets that budget."""
    points = circle_points(n_samples, max_points=MAX_FOURIER_SAMPLES)
    values = evaluate_target(f, points)  # (n, k)
    return torch.fft.fft(values.to(torch.complex128), dim=0) / n_samples


def _spectrum_norms(spectrum: torch.Tensor) -> torch.Tensor:
    """a_n = |f_n| + |f_-n| for n = 0 .. n/2 - 1 (a_0 = |f_0|) from an FFT-ordered spectrum."""
    n_samples = spectrum.shape[0]
    norms = torch.linalg.vector_norm(spectrum, dim=1)  # |f_n| for n = 0..n-1 (negatives wrap)
    half = n_samples // 2
    a = torch.zeros(half, dtype=torch.float64)
    a[0] = norms[0]
    a[1:] = norms[1:half] + norms[n_samples - half + 1 :].flip(0)  # |f_n| + |f_-n|
    return a


def _check_norms_against_fft(
    f: Callable[[torch.Tensor], torch.Tensor], norms: ArrayLike, tail_bound: object
) -> None:
    """Necessary check of stated Fourier norms a_0..a_K and tail bound T: sampled at M > 2K
    points, f's FFT coefficient at frequency n is the sum of f_(n + qM) over q, so its norms
    b_n (combined as a_n is) obey b_n <= a_n + T for n <= K and sum_(K < n < M/2) b_n <= T.
    A violation means the stated norms are false; passing proves nothing about the rest."""
    a = as_float64(norms, "fourier_norms", ndim=1)
    tail = check_nonnegative_float(tail_bound, "tail_bound")
    if a.shape[0] == 0 or a.shape[0] > 2**14:
        return  # smooth_circle_parameters reports an empty list; very long ones: not checked
    n_samples = 1 << max(6, (4 * a.shape[0]).bit_length())
    b = _spectrum_norms(_circle_spectrum(f, n_samples))
    slack = 1e-10 * (1.0 + float(b.max()))
    low = b[: a.shape[0]] - a - tail
    if float(low.max()) > slack:
        n = int(low.argmax())
        raise ValueError(
            f"fourier_norms are false: at frequency {n} the FFT of f at {n_samples} points "
            f"has norm {float(b[n]):.6g}, more than a_{n} + tail_bound = "
            f"{float(a[n]) + tail:.6g}"
        )
    beyond = float(b[a.shape[0] :].sum())
    if beyond > tail + slack:
        raise ValueError(
            f"tail_bound = {tail:.6g} is false: beyond frequency {a.shape[0] - 1} the FFT of f "
            f"at {n_samples} points already has norms summing to {beyond:.6g}"
        )


def smooth_circle_prefix(
    f: Callable[[torch.Tensor], torch.Tensor],
    *,
    eps: float,
    bound: float,
    max_len: int,
    fourier_norms: ArrayLike | None = None,
    tail_bound: float = 0.0,
    bandwidth: int | None = None,
    max_tokens: int = 100_000,
) -> CorePrefix:
    """A prefix for `CoreHead(1, k)` that approximates a smooth f: S^1 -> R^k to sup error
    `eps` on sequences of at most `max_len` tokens (result D of the book): N equally spaced
    control points, values v_j = f(c_j), and the fewest N <= `max_tokens` (with its lam) for
    which `smooth_circle_error_bound` is at most eps.

    The guarantee needs the spectrum of f, which samples alone cannot bound (cos(4096 t)
    sampled at 4096 points is the constant 1). Give exactly one of:
    - `fourier_norms` a_n = |f_n| + |f_-n| for n = 0..M and `tail_bound`, a bound on the
      sup norm of the frequencies above M (0 for a trigonometric polynomial of degree <= M);
    - `bandwidth` D <= MAX_BANDWIDTH (2^20): f is a trigonometric polynomial of degree
      <= D. The norms are then computed exactly (to rounding) by an FFT at the first power
      of two above 4D + 4 points (2^23 for D = 2^20), which also checks that f has no
      frequency above D at those points.

    Raises ValueError if neither or both are given, if bandwidth exceeds MAX_BANDWIDTH, if
    the FFT sees frequencies above the stated bandwidth, if stated norms or tail bound
    contradict an FFT of f (a necessary check), if f exceeds `bound` on a control point,
    or if no N <= `max_tokens` reaches eps (see `smooth_circle_parameters`).

    Used in: book/beyond_saturation.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    eps = check_positive_float(eps, "eps")
    bound = check_positive_float(bound, "bound")
    max_len = check_positive_int(max_len, "max_len", maximum=MAX_SEQUENCE_LENGTH)
    max_tokens = check_positive_int(max_tokens, "max_tokens")
    if (fourier_norms is None) == (bandwidth is None):
        raise ValueError(
            "give exactly one of fourier_norms= (with tail_bound= for the frequencies beyond "
            "them) or bandwidth= (f is a trigonometric polynomial of that degree): an FFT of "
            "samples cannot bound the spectrum, so the guarantee needs one of them"
        )
    if bandwidth is not None:
        norms: ArrayLike = _trigonometric_polynomial_norms(f, bandwidth)
    else:
        assert fourier_norms is not None  # exactly one of the two was given
        norms = fourier_norms
        _check_norms_against_fft(f, norms, tail_bound)
    try:
        parameters = smooth_circle_parameters(
            norms,
            eps=eps,
            max_len=max_len,
            bound=bound,
            tail_bound=tail_bound,
            max_points=max_tokens,
        )
    except ValueError as err:
        if "max_points" not in str(err):
            raise
        message = str(err).replace("max_points", "max_tokens")
        raise ValueError(f"smooth_circle_prefix: {message}") from err
    points = circle_points(parameters.n_points)
    values = evaluate_target(f, points)
    _check_bound(values, bound)
    prefix = core_prefix(points, values, parameters.lam)
    return dataclasses.replace(prefix, parameters=parameters, max_len=max_len)


#: Largest bandwidth `smooth_circle_prefix` accepts: an FFT of 2^23 samples (the first power
#: of two above 4 D + 4), within MAX_FOURIER_SAMPLES.
MAX_BANDWIDTH = 2**20

#: Most samples `circle_fourier_norms` and the bandwidth check of `smooth_circle_prefix` take.
MAX_FOURIER_SAMPLES = 2**23

#: Frequencies per block when the bandwidth check evaluates the interpolant between samples.
_INTERPOLANT_BLOCK = 2**16


def _trigonometric_polynomial_norms(
    f: Callable[[torch.Tensor], torch.Tensor], bandwidth: object
) -> torch.Tensor:
    """Exact Fourier norms (0..D) of a trigonometric polynomial f of degree <= D, with an
    allowance for rounding; ValueError if the samples show a frequency above D."""
    degree = check_positive_int(bandwidth, "bandwidth", minimum=0, maximum=MAX_BANDWIDTH)
    n_samples = 1 << max(6, (4 * degree + 4).bit_length())
    coefficients = _circle_spectrum(f, n_samples)
    norms = _spectrum_norms(coefficients)
    scale = float(norms.max()) if norms.numel() else 0.0
    rounding = 1e-12 * scale + 1e-300
    beyond = float(norms[degree + 1 :].max()) if norms.shape[0] > degree + 1 else 0.0
    # Equally spaced samples cannot see a frequency that aliases onto a low one (cos(64 t)
    # at 64 points is 1): compare f with its interpolant at 64 seeded random angles too.
    angles = 2 * math.pi * torch.rand(64, generator=torch.Generator().manual_seed(0))
    angles = angles.to(torch.float64)
    points = torch.stack((torch.cos(angles), torch.sin(angles)), dim=1)
    frequencies = torch.fft.fftfreq(n_samples, d=1.0 / n_samples).to(torch.float64)
    keep = frequencies.abs() <= degree
    kept_frequencies, kept_coefficients = frequencies[keep], coefficients[keep]
    interpolant = torch.zeros((64, coefficients.shape[1]), dtype=torch.float64)
    for start in range(0, kept_frequencies.shape[0], _INTERPOLANT_BLOCK):  # bounded memory
        block = slice(start, start + _INTERPOLANT_BLOCK)
        basis = torch.exp(1j * angles[:, None] * kept_frequencies[block][None, :])
        interpolant += (basis @ kept_coefficients[block]).real
    off_grid = float((evaluate_target(f, points) - interpolant).abs().max())
    if max(beyond, off_grid) > rounding + 1e-12 * float(interpolant.abs().max()):
        raise ValueError(
            f"f is not a trigonometric polynomial of degree <= bandwidth = {degree}: its "
            f"samples show frequencies above it (norm up to {beyond:.3g}, or a difference "
            f"of {off_grid:.3g} from the degree-{degree} interpolant between the samples)"
        )
    return norms[: degree + 1] + rounding
