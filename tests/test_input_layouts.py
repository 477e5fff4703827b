"""Every public function that takes arrays accepts every real-valued array numpy or torch can
produce, whatever its memory layout, and rejects a wrong kind of value with a TypeError and a
wrong shape with a ValueError, each naming the argument.

The faults these tests were written for (issue "Faults that users of similar books and
attention code reported elsewhere") have regression tests named after them; the property
tests cover the whole kind: generated arrays (hypothesis.extra.numpy), each passed in many
layouts (reversed, transposed, strided, zero-stride, read-only, Fortran order, narrower
dtypes, nested lists, non-contiguous torch tensors) to every array argument of the API, must
give exactly what a fresh contiguous float64 copy gives.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import prefix_approx as pa
from prefix_approx._validation import as_float64, check_sequences

EYE = np.array([[1.0, 0.0], [0.0, 1.0]])


# ------------------------------------------------------------ regression tests (the faults)
def test_geodesic_distance_of_a_reversed_view() -> None:
    """A view with a negative stride was reported as 'not an array of real numbers'."""
    distance = pa.geodesic_distance(EYE[::-1], EYE)
    assert torch.allclose(distance, torch.full((2,), math.pi / 2, dtype=torch.float64))


def test_core_prefix_values_of_a_reversed_view() -> None:
    values = np.array([[3.0], [1.0]])[::-1]
    prefix = pa.core_prefix(EYE, values, 1.0)
    assert prefix.values.flatten().tolist() == [1.0, 3.0]


def test_core_head_inputs_of_a_reversed_view() -> None:
    prefix = pa.core_prefix(EYE, [[1.0], [3.0]], 1.0)
    x = np.array([[0.0, 1.0], [1.0, 0.0]])[::-1][:, None]  # x_0 = [1, 0], x_1 = [0, 1]
    out = pa.CoreHead(1, 1)(x, prefix)[:, 0, 0]
    e = math.e
    assert out.tolist() == pytest.approx([(e + 3) / (e + 2), (1 + 3 * e) / (e + 2)], rel=1e-15)


def test_float32_core_prefix_tokens_give_the_float64_value() -> None:
    """dataclasses.replace(p, tokens=p.tokens.float()) crashed in a matrix product."""
    p = pa.core_prefix([[1, 0], [0, 1]], [[1], [3]], 1.0)
    p32 = dataclasses.replace(p, tokens=p.tokens.float())
    value = float(pa.CoreHead(1, 1)(torch.tensor([[[1.0, 0.0]]]), p32)[0, 0, 0])
    assert value == pytest.approx((math.e + 3) / (math.e + 2), rel=1e-15)
    assert value == pytest.approx(1.2119415576170856, rel=1e-15)
    assert pa.sup_error(lambda x: x[:, :1] * 0 + value, p32, [[[1.0, 0.0]]]) < 1e-15


def test_nan_in_core_prefix_tokens_is_an_error_not_zero() -> None:
    """One NaN token made CoreHead return 0.0 for every query and sup_error report 1.0."""
    p = pa.core_prefix([[1, 0], [0, 1]], [[1], [3]], 1.0)
    tokens = p.tokens.clone()
    tokens[0, -1] = math.nan
    bad = dataclasses.replace(p, tokens=tokens)
    with pytest.raises(ValueError, match="prefix must be finite; it has 1 NaN"):
        pa.CoreHead(1, 1)([[[1.0, 0.0]]], bad)
    with pytest.raises(ValueError, match="prefix must be finite"):
        pa.sup_error(lambda x: x[:, :1], bad, [[[1.0, 0.0]]])


def test_ka_log_sum_exp_at_beta_710() -> None:
    """exp(710) overflowed while the representation was built; the target is finite."""
    rep = pa.ka_log_sum_exp(2, beta=710.0)
    x = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    reference = 0.99902373636540852773  # (1/710) log((e^710 + e^355) / 2), 40 digits
    assert float(rep(x)[0, 0, 0]) == pytest.approx(reference, rel=1e-15)
    assert float(rep.evaluate(x)[0, 0, 0]) == pytest.approx(reference, rel=1e-15)


def test_ka_product_refuses_n_whose_constants_overflow() -> None:
    from prefix_approx.kolmogorov_arnold import KA_PRODUCT_MAX_N

    rep = pa.ka_product(KA_PRODUCT_MAX_N)
    assert math.isfinite(rep.outer_lipschitz[0])
    with pytest.raises(ValueError, match=f"n must be at most {KA_PRODUCT_MAX_N}"):
        pa.ka_product(KA_PRODUCT_MAX_N + 1)


# ------------------------------------------------------ the kind: exp of a parameter
def _finite_constants(rep: pa.KARepresentation) -> list[float]:
    numbers = [rep.margin]
    for q in rep.terms:
        numbers += [*rep.inner_range[q], *rep.mean_range[q]]
        numbers += [rep.inner_lipschitz[q], rep.outer_lipschitz[q]]
    return numbers


@settings(max_examples=60, deadline=None)
@given(beta=st.floats(1e-3, 1400.0), x=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2))
def test_ka_log_sum_exp_constants_are_finite_and_it_matches_its_target(beta, x) -> None:
    rep = pa.ka_log_sum_exp(2, beta=beta)
    assert all(math.isfinite(c) for c in _finite_constants(rep))
    seq = torch.tensor([x], dtype=torch.float64)
    # The exact smooth maximum, in the log domain: max + log(mean exp(beta (x - max))) / beta.
    top = max(x)
    exact = top + math.log(sum(math.exp(beta * (v - top)) for v in x) / 2) / beta
    assert float(rep(seq)[0, 0, 0]) == pytest.approx(exact, rel=1e-12, abs=1e-12)
    assert float(rep.evaluate(seq)[0, 0, 0]) == pytest.approx(exact, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("beta", [1e-4, 1400.5, 1e6])
def test_ka_log_sum_exp_outside_its_range_is_refused_with_the_range(beta) -> None:
    with pytest.raises(ValueError, match=r"beta must lie in \[0\.001, 1400\]"):
        pa.ka_log_sum_exp(2, beta=beta)


@pytest.mark.parametrize("n", [1, 2, 50, 500])
def test_ka_product_constants_are_finite(n) -> None:
    assert all(math.isfinite(c) for c in _finite_constants(pa.ka_product(n)))


def test_hand_made_representation_with_an_infinite_constant_is_refused() -> None:
    rep = dataclasses.replace(pa.ka_product(2), outer_lipschitz={0: math.inf})
    with pytest.raises(ValueError, match=r"outer_lipschitz\[0\] must be a finite number"):
        pa.ka_prefixes(pa.ka_transformer(2), rep, eps=0.5)


# ------------------------------------------------------------- the kind: any layout
def _layouts(base: np.ndarray, *, exact_dtype_only: bool) -> list[tuple[str, object]]:
    """Array-likes whose values equal `base` (2-D float64), in many memory layouts."""
    rows, cols = base.shape
    reversed_view = base[::-1].copy()[::-1]
    big = np.zeros((2 * rows, 3 * cols))
    big[::2, ::3] = base
    readonly = base.copy()
    readonly.setflags(write=False)
    layouts: list[tuple[str, object]] = [
        ("negative stride", reversed_view),
        ("negative stride, both axes", base[::-1, ::-1].copy()[::-1, ::-1]),
        ("transposed view", base.T.copy().T),
        ("Fortran order", np.asfortranarray(base)),
        ("strided view", big[::2, ::3]),
        ("read-only", readonly),
        ("big-endian", base.astype(">f8")),
        ("nested list", base.tolist()),
        ("tuple of tuples", tuple(tuple(row) for row in base.tolist())),
        ("torch, non-contiguous", torch.from_numpy(base.T.copy()).T),
        ("torch, strided", torch.from_numpy(big)[::2, ::3]),
    ]
    if rows > 0 and np.all(base == base[:1]):
        layouts.append(("zero stride (broadcast)", np.broadcast_to(base[:1], base.shape)))
    if not exact_dtype_only:
        layouts += [
            ("float128", base.astype(np.longdouble)),
            ("float32 view", base.astype(np.float32)[::-1][::-1]),
            ("torch float32", torch.from_numpy(base).float()),
        ]
        if np.all(base == np.round(base)):
            layouts += [
                ("int64", base.astype(np.int64)[::-1].copy()[::-1]),
                ("uint8" if base.min() >= 0 else "int8", base.astype(np.int8)),
                ("torch int32", torch.from_numpy(base).int()),
            ]
    return layouts


def _same(a: object, b: object) -> bool:
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, torch.Tensor):
        return a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, pa.CorePrefix):
        return _same(a.tokens, b.tokens)
    return a == b


def _expected_input(base: np.ndarray, layout: object) -> np.ndarray:
    """What the layout holds, as float64 (narrower dtypes round the values)."""
    if isinstance(layout, torch.Tensor):
        return layout.double().numpy().copy()
    return np.array(layout, dtype=np.float64)


def _check_layouts(call: Callable[[object], object], base: np.ndarray, *, exact: bool) -> None:
    for name, layout in _layouts(base, exact_dtype_only=exact):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # read-only arrays must not warn
            got = call(layout)
        want = call(np.ascontiguousarray(_expected_input(base, layout)))
        assert _same(got, want), f"layout {name!r} gave a different result"


finite_floats = st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False, width=64)


def matrices(rows: int, cols: int, elements=finite_floats) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, (rows, cols), elements=elements)


def sphere_points(rows: int, dim: int) -> st.SearchStrategy[np.ndarray]:
    return (
        matrices(rows, dim)
        .filter(lambda a: np.all(np.linalg.norm(a, axis=1) > 0.1))
        .map(lambda a: a / np.linalg.norm(a, axis=1, keepdims=True))
    )


CORE = pa.CoreHead(1, 1)
HEAD = pa.AttentionHead(np.eye(3)[:2], np.eye(3)[1:], np.eye(3)[:1])


@settings(max_examples=25, deadline=None)
@given(x=sphere_points(3, 2), y=sphere_points(3, 2))
def test_sphere_functions_accept_any_layout(x, y) -> None:
    _check_layouts(lambda a: pa.geodesic_distance(a, y), x, exact=True)
    _check_layouts(lambda a: pa.nearest_point(a, y), x, exact=True)
    _check_layouts(lambda a: pa.nearest_point(x, a), y, exact=True)
    _check_layouts(lambda a: pa.covering_radius(a, samples=50), y, exact=True)
    exclude = np.array([[2.0, 0.0, 1.0]])
    _check_layouts(lambda a: pa.nearest_point(x, y, exclude=a[0]), exclude, exact=False)


@settings(max_examples=25, deadline=None)
@given(points=sphere_points(3, 2), values=matrices(3, 2))
def test_core_head_functions_accept_any_layout(points, values) -> None:
    lam = 3.0
    _check_layouts(lambda a: pa.core_prefix(a, values, lam), points, exact=True)
    _check_layouts(lambda a: pa.core_prefix(points, a, lam), values, exact=False)
    prefix = pa.core_prefix(points, values[:, :1], lam)
    queries = points[:, None]  # three sequences of one token
    _check_layouts(lambda a: CORE(a, prefix), points, exact=True)  # one sequence
    _check_layouts(lambda a: CORE(queries, a), prefix.tokens.numpy(), exact=False)
    _check_layouts(lambda a: pa.sup_error(lambda z: z[:, :1], prefix, a), points, exact=True)


@settings(max_examples=25, deadline=None)
@given(q=matrices(2, 3), p=matrices(4, 3), x=matrices(2, 3))
def test_attention_head_accepts_any_layout(q, p, x) -> None:
    _check_layouts(lambda a: HEAD(a, p, x), q, exact=False)
    _check_layouts(lambda a: HEAD(q, a, x), p, exact=False)
    _check_layouts(lambda a: HEAD(q, p, a), x, exact=False)
    _check_layouts(lambda a: HEAD.dense(q, a, x), p, exact=False)
    _check_layouts(lambda a: HEAD.attend(q, a).output, p, exact=False)
    _check_layouts(
        lambda a: pa.AttentionHead(a, np.eye(3)[1:], np.eye(3)[:1])(q, p), p[:2], exact=False
    )


@settings(max_examples=15, deadline=None)
@given(norms=hnp.arrays(np.float64, (1, 4), elements=st.floats(0.0, 1.0)))
def test_fourier_norm_bounds_accept_any_layout(norms) -> None:
    def bound(a: object) -> float:
        return pa.smooth_circle_error_bound(
            np.asarray(a)[0] if not isinstance(a, torch.Tensor) else a[0],
            n_points=16,
            lam=4.0,
            max_len=2,
            bound=1.0,
        )

    _check_layouts(bound, norms, exact=False)


@settings(max_examples=10, deadline=None)
@given(x=matrices(3, 2, st.floats(0.0, 1.0)))
def test_sequence_functions_accept_any_layout(x) -> None:
    rep = pa.ka_centering(2)
    _check_layouts(lambda a: check_sequences(a, 2), x, exact=False)
    _check_layouts(rep.evaluate, x, exact=False)
    _check_layouts(rep, x, exact=False)
    model = pa.mixing_transformer(2)
    prefixes = pa.mixing_prefixes(model, lambda xj, m, j: (xj - m)[:, None], lipschitz=2, eps=0.5)
    _check_layouts(lambda a: model(a, prefixes), x, exact=False)
    last = prefixes.tokens[1].numpy()
    _check_layouts(lambda a: model(x, [None, a]), last, exact=False)


# ------------------------------------------------------------- the kind: wrong kinds
WRONG_KINDS = [
    np.array([[1 + 1j, 0], [0, 1]]),
    np.array([["a", "b"], ["c", "d"]]),
    np.array([[None, 1.0], [0.0, 1.0]], dtype=object),
    np.array([[True, False], [False, True]]),
    torch.eye(2, dtype=torch.complex128),
    torch.eye(2, dtype=torch.bool),
    "eye",
    {"x": 1},
]


@pytest.mark.parametrize("bad", WRONG_KINDS, ids=lambda b: type(b).__name__)
@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda a: pa.geodesic_distance(a, EYE), "x"),
        (lambda a: pa.core_prefix(EYE, a, 1.0), "values"),
        (lambda a: CORE(EYE[:, None], a), "prefix"),
        (lambda a: pa.AttentionHead(a, EYE, EYE), "w_query"),
        (lambda a: check_sequences(a, 2), "x"),
    ],
)
def test_a_wrong_kind_of_array_is_a_type_error_naming_the_argument(call, name, bad) -> None:
    with pytest.raises(TypeError, match=rf"^{name} must"):
        call(bad)


def test_a_ragged_nested_list_is_a_value_error_naming_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^values must be a rectangular array"):
        pa.core_prefix(EYE, [[1.0], []], 1.0)


def test_exclude_indices_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match=r"exclude must hold indices in 0\.\.1"):
        pa.nearest_point(EYE, EYE, exclude=[999, 0])
    with pytest.raises(ValueError, match="exclude must hold 2 indices"):
        pa.nearest_point(EYE, EYE, exclude=[0])


def test_as_float64_shares_memory_when_it_can_and_copies_when_it_must() -> None:
    base = np.arange(6.0).reshape(2, 3)
    assert np.shares_memory(as_float64(base, "a").numpy(), base)
    view = base[::-1]
    converted = as_float64(view, "a")
    assert not np.shares_memory(converted.numpy(), base)
    assert converted.tolist() == view.tolist()
