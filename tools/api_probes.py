"""Probe harness: throw bad, extreme and edge-case inputs at the public API of `prefix_approx`.

Every probe is a small record (`Probe`): an id, the public name it exercises, a one-line
description, a zero-argument callable and an expectation. Each probe runs in a forked child
(torch and prefix_approx are imported once, in the parent, with one torch thread); the child
limits its address space to 4 GiB, runs the callable, classifies the outcome and reports it
through a pipe as JSON. The parent kills a child that runs longer than 60 s.

Outcomes (exactly one per probe):

- ``correct``: a valid call returned the right answer (closed form, mpmath, a dense
  brute-force computation or an invariant);
- ``clear error``: a bad call raised ValueError/TypeError whose message names the offending
  argument (or object) and what is expected;
- ``unclear error``: any other exception type, a ValueError/TypeError whose message does not
  name the argument, a valid call refused, or a public name or keyword that does not exist at
  this commit ("API missing");
- ``silent wrong``: a wrong value (beyond the stated tolerance), NaN/inf/garbage where an
  error or a finite value was due, or a guarantee that the measured error exceeds;
- ``runaway``: more than 60 s, or more than 4 GiB of memory.

Usage::

    python tools/api_probes.py [--only SUBSTR] [--json PATH] [--jobs N]

See tools/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import math
import os
import re
import resource
import select
import signal
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

torch.set_num_threads(1)

import prefix_approx as pa  # noqa: E402  (after the thread setting, imported once)

try:  # mpmath comes with torch (through sympy)
    import mpmath
except ImportError:  # pragma: no cover
    mpmath = None

CORRECT = "correct"
CLEAR = "clear error"
UNCLEAR = "unclear error"
SILENT = "silent wrong"
RUNAWAY = "runaway"
OUTCOMES = (CORRECT, CLEAR, UNCLEAR, SILENT, RUNAWAY)

TIME_LIMIT_S = 60.0
MEMORY_LIMIT_BYTES = 4 * 2**30
API_MISSING = "API missing"
HARNESS_FILE = os.path.abspath(__file__)
PACKAGE_DIR = os.path.dirname(os.path.abspath(pa.__file__))

F64 = torch.float64
PI = math.pi


# --------------------------------------------------------------------------- the records
class ApiMissingError(Exception):
    """A public name the probe needs does not exist at this commit."""


#: Names that were public and are now private validators; probed where they live.
PRIVATE_HOMES = {"check_sequences": "_validation", "evaluate_target": "_validation"}


def api(name: str) -> object:
    """The public object `name` of prefix_approx (or a private validator of PRIVATE_HOMES),
    or ApiMissingError."""
    if name in PRIVATE_HOMES:
        module = importlib.import_module(f"prefix_approx.{PRIVATE_HOMES[name]}")
        if hasattr(module, name):
            return getattr(module, name)
    if not hasattr(pa, name):
        raise ApiMissingError(f"prefix_approx has no public name {name!r}")
    return getattr(pa, name)


@dataclass(frozen=True)
class Value:
    """The result (converted by `get`, default: itself) must equal `expected` (a number, an
    array, or a zero-argument callable computing the reference in the child) within
    atol + rtol |expected|, with the same shape."""

    expected: object
    rtol: float = 1e-12
    atol: float = 0.0
    get: Callable[[object], object] | None = None


@dataclass(frozen=True)
class Error:
    """The call must raise ValueError/TypeError naming one of `names` (case-insensitive; a name
    of one or two characters must appear as a word followed by 'must', '=', 'is', ... or in
    quotes). With `size`, the message must also contain a number (a refusal that names the
    estimated size). If `otherwise` is given, returning a result that passes it (a predicate
    like `Check`'s) is also correct."""

    names: tuple[str, ...]
    otherwise: Callable[[object], object] | None = None
    size: bool = False


@dataclass(frozen=True)
class Check:
    """`predicate(result)` returns True / (True, detail) when the result is right."""

    predicate: Callable[[object], object]


Expectation = Value | Error | Check


@dataclass(frozen=True)
class Probe:
    id: str
    name: str
    description: str
    call: Callable[[], object]
    expect: Expectation


PROBES: list[Probe] = []
_IDS: set[str] = set()


def probe(
    pid: str, name: str, description: str, call: Callable[[], object], expect: Expectation
) -> None:
    """Register one probe (ids must be unique)."""
    if pid in _IDS:
        raise RuntimeError(f"duplicate probe id {pid}")
    _IDS.add(pid)
    PROBES.append(Probe(pid, name, description, call, expect))


# ---------------------------------------------------------------------- classification
_SIGNATURE = re.compile(
    r"unexpected keyword argument|required (positional|keyword-only) argument|"
    r"positional arguments? but|takes no arguments|got multiple values"
)
_MEMORY = re.compile(
    r"can't allocate memory|not enough memory|bad_alloc|out of memory|Cannot allocate memory",
    re.IGNORECASE,
)


def _innermost_file(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    return os.path.abspath(frames[-1].filename) if frames else ""


def _is_api_missing(exc: BaseException) -> bool:
    if isinstance(exc, ApiMissingError | ImportError):
        return True
    if isinstance(exc, AttributeError) and "module 'prefix_approx'" in str(exc):
        return True
    # A TypeError raised while binding the arguments of a call made from this file: the
    # keyword (or the signature) does not exist at this commit.
    return (
        isinstance(exc, TypeError)
        and _innermost_file(exc) == HARNESS_FILE
        and bool(_SIGNATURE.search(str(exc)))
    )


def _names_in(message: str, names: tuple[str, ...]) -> bool:
    low = message.lower()
    for name in names:
        n = name.lower()
        if len(n) <= 2:
            word = re.escape(n)
            pattern = (
                rf"(^|[^\w^(]){word}\s*(must|=|is |has|should|:|\[|,)|[`'\"]{word}[`'\"]"
                rf"|\b{word}\(x\)"
            )
            if re.search(pattern, low):
                return True
        elif n in low:
            return True
    return False


def _short(text: object, limit: int = 220) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _describe_exc(exc: BaseException) -> str:
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        where = f" [{os.path.basename(last.filename)}:{last.lineno}]"
    return _short(f"{type(exc).__name__}: {exc}{where}")


def classify_exception(expect: Expectation, exc: BaseException) -> tuple[str, str]:
    """Outcome and detail of a probe whose call (or check) raised `exc`."""
    if _is_api_missing(exc):
        return UNCLEAR, f"{API_MISSING}: {_describe_exc(exc)}"
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and _MEMORY.search(str(exc))):
        return RUNAWAY, f"memory: {_describe_exc(exc)}"
    if isinstance(exc, RecursionError):
        return UNCLEAR, _describe_exc(exc)
    if isinstance(exc, ValueError | TypeError) and isinstance(expect, Error):
        message = str(exc)
        if not _names_in(message, expect.names):
            return UNCLEAR, f"message does not name {'/'.join(expect.names)}: {_describe_exc(exc)}"
        if expect.size and not re.search(r"\d", message):
            return UNCLEAR, f"refusal does not state a size: {_describe_exc(exc)}"
        return CLEAR, _describe_exc(exc)
    if isinstance(exc, ValueError | TypeError):
        return UNCLEAR, f"valid call refused: {_describe_exc(exc)}"
    return UNCLEAR, _describe_exc(exc)


def _as_array(value: object) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(F64).numpy()
    return np.asarray(value, dtype=np.float64)


def compare(result: object, expected: object, rtol: float, atol: float) -> tuple[bool, str]:
    """Whether `result` equals `expected` within atol + rtol |expected| (same shape)."""
    try:
        got = _as_array(result)
    except (TypeError, ValueError) as err:
        return False, f"result {_short(repr(result), 80)} is not numeric ({err})"
    want = _as_array(expected)
    if got.shape != want.shape:
        return False, f"shape {got.shape}, expected {want.shape}"
    if got.size == 0:
        return True, "empty, as expected"
    nan_ok = np.isnan(want)
    if np.isnan(got[~nan_ok]).any() or (np.isinf(got) & ~np.isinf(want)).any():
        return False, f"non-finite result {_short(got.ravel()[:4], 80)}"
    finite = np.isfinite(want)
    if (got[~finite & ~nan_ok] != want[~finite & ~nan_ok]).any():
        return False, "infinite entries differ"
    diff = np.abs(got[finite] - want[finite])
    allowed = atol + rtol * np.abs(want[finite])
    if (diff > allowed).any():
        i = int(np.argmax(diff - allowed))
        return False, (
            f"got {got[finite].ravel()[i]!r}, expected {want[finite].ravel()[i]!r} "
            f"(|diff| {diff.ravel()[i]:.3g} > {allowed.ravel()[i]:.3g})"
        )
    return True, f"max |diff| {float(diff.max()) if diff.size else 0.0:.3g}"


def _predicate(pred: Callable[[object], object], result: object) -> tuple[bool, str]:
    out = pred(result)
    if isinstance(out, tuple):
        return bool(out[0]), _short(out[1])
    return bool(out), "" if out else f"predicate failed on {_short(repr(result), 120)}"


def classify_result(expect: Expectation, result: object) -> tuple[str, str]:
    """Outcome and detail of a probe whose call returned `result`."""
    if isinstance(expect, Error):
        if expect.otherwise is None:
            return SILENT, f"no error; returned {_short(repr(result), 160)}"
        ok, detail = _predicate(expect.otherwise, result)
        return (CORRECT, f"accepted: {detail}") if ok else (SILENT, detail)
    if isinstance(expect, Value):
        reference = expect.expected() if callable(expect.expected) else expect.expected
        value = expect.get(result) if expect.get is not None else result
        ok, detail = compare(value, reference, expect.rtol, expect.atol)
        return (CORRECT, detail) if ok else (SILENT, detail)
    ok, detail = _predicate(expect.predicate, result)
    return (CORRECT, detail) if ok else (SILENT, detail)


def run_in_child(p: Probe) -> dict:
    """Run probe `p` here (in the child) and return its record."""
    start = time.perf_counter()
    try:
        result = p.call()
        try:
            outcome, detail = classify_result(p.expect, result)
        except BaseException as exc:  # the check itself called the API and it raised
            outcome, detail = classify_exception(Check(lambda r: True), exc)
            detail = "while checking the result: " + detail
    except BaseException as exc:
        outcome, detail = classify_exception(p.expect, exc)
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "outcome": outcome,
        "detail": _short(detail, 300),
        "seconds": round(time.perf_counter() - start, 3),
    }


# -------------------------------------------------------------------------- references
def t64(value: object) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value, dtype=np.float64))


def unit(v: object) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def rand_sphere(n: int, m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return unit(rng.standard_normal((n, m + 1)))


def angles_points(theta: np.ndarray) -> np.ndarray:
    return np.stack((np.cos(theta), np.sin(theta)), axis=-1)


def ref_attention(
    wq: np.ndarray,
    wk: np.ndarray,
    wv: np.ndarray,
    queries: np.ndarray,
    context: np.ndarray,
    hidden: np.ndarray | None = None,
) -> np.ndarray:
    """Dense softmax attention in float64 (max-shifted), queries (Q, D), context (M, D)."""
    scores = (queries @ wq.T) @ (context @ wk.T).T
    if hidden is not None:
        scores = np.where(hidden, -np.inf, scores)
    scores = scores - scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights @ (context @ wv.T)


def ref_core(
    x: np.ndarray, points: np.ndarray, values: np.ndarray, lam: float, causal: bool = False
) -> np.ndarray:
    """Closed form of the core head at every position of one sequence x (T, m+1):
    sum_j e^(lam <x,c_j>) v_j / (sum_j e^(lam <x,c_j>) + count), in mpmath."""
    t = x.shape[0]
    out = np.zeros((t, values.shape[1]))
    for i in range(t):
        count = i + 1 if causal else t
        scores = [lam * mpmath.mpf(float(np.dot(x[i], c))) for c in points]
        weights = [mpmath.exp(s) for s in scores]
        den = mpmath.fsum(weights) + count
        for col in range(values.shape[1]):
            num = mpmath.fsum(
                w * mpmath.mpf(float(v)) for w, v in zip(weights, values[:, col], strict=True)
            )
            out[i, col] = float(num / den)
    return out


def fd_gradient_check(
    function: Callable[[torch.Tensor], torch.Tensor], leaf: torch.Tensor, entries: int = 4
) -> tuple[bool, str]:
    """Output of `function(leaf)` must require grad and its backward (of a fixed random
    projection) must agree with central finite differences at a few entries of `leaf`."""
    out = function(leaf)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return False, "output does not require grad (graph lost)"
    weights = torch.linspace(0.3, 1.7, out.numel(), dtype=F64).reshape(out.shape)
    (grad,) = torch.autograd.grad((out * weights).sum(), leaf)
    flat = leaf.detach().reshape(-1)
    h = 1e-6
    worst = 0.0
    for i in torch.linspace(0, flat.numel() - 1, min(entries, flat.numel())).long().tolist():
        plus, minus = flat.clone(), flat.clone()
        plus[i] += h
        minus[i] -= h
        with torch.no_grad():
            f_plus = float((function(plus.reshape(leaf.shape)) * weights).sum())
            f_minus = float((function(minus.reshape(leaf.shape)) * weights).sum())
        numeric = (f_plus - f_minus) / (2 * h)
        analytic = float(grad.reshape(-1)[i])
        worst = max(worst, abs(numeric - analytic) / max(1.0, abs(numeric)))
    return worst < 1e-5, f"worst relative gradient mismatch {worst:.3g}"


def layouts_2d(a: np.ndarray) -> dict[str, object]:
    """The same 2-D array in many memory layouts and containers (all valid inputs)."""
    flipped = np.ascontiguousarray(a[::-1])[::-1]  # negative row stride, same values
    readonly = a.copy()
    readonly.flags.writeable = False
    fortran = np.asfortranarray(a)
    transposed = np.ascontiguousarray(a.T).T
    strided = np.zeros((a.shape[0], 2 * a.shape[1]))
    strided[:, ::2] = a
    big = torch.zeros((a.shape[0], 2 * a.shape[1]), dtype=F64)
    big[:, ::2] = torch.from_numpy(a)
    return {
        "negative-stride": flipped,
        "read-only": readonly,
        "fortran": fortran,
        "transposed-view": transposed,
        "column-strided": strided[:, ::2],
        "nested-list": a.tolist(),
        "tuple-of-tuples": tuple(tuple(r) for r in a.tolist()),
        "torch-noncontiguous": big[:, ::2],
        "big-endian": a.astype(">f8"),
    }


def layouts_2d_lossy(a: np.ndarray) -> dict[str, object]:
    """Layouts whose values change by rounding (float32) or need integer data."""
    return {"float32": a.astype(np.float32), "torch-float32": torch.from_numpy(a).float()}


# ------------------------------------------------------------------ bad-value families
NAN, INF = float("nan"), float("inf")
HUGE_INT = 10**400


def bad_values(kind: str) -> dict[str, object]:
    """Bad values for a parameter of `kind`: 'pos_int', 'nonneg_int', 'pos_float',
    'nonneg_float' (each value must be refused with a clear error naming the parameter)."""
    common = {"str": "1", "none": None, "bool": True, "complex": 1j, "list": [1]}
    if kind.endswith("int"):
        out = {**common, "float": 1.5, "huge-int": HUGE_INT, "negative": -1, "nan": NAN}
        if kind == "pos_int":
            out["zero"] = 0
        return out
    out = {**common, "nan": NAN, "inf": INF, "-inf": -INF, "negative": -1.0, "huge-int": HUGE_INT}
    if kind == "pos_float":
        out["zero"] = 0.0
    return out


def bad_param_family(
    prefix: str,
    name: str,
    param: str,
    kind: str,
    call: Callable[[object], object],
    only: tuple[str, ...] | None = None,
    names: tuple[str, ...] | None = None,
    huge_ok: Callable[[object], object] | None = None,
) -> None:
    """One probe per bad value of `param` (kind as in `bad_values`): call(value) must raise a
    clear error naming `param` (or one of `names`). Where a huge integer is harmless (a cap
    such as block_elements, or an exact integer formula), `huge_ok` checks the result that
    a call with it may return instead."""
    for label, value in bad_values(kind).items():
        if only is not None and label not in only:
            continue
        otherwise = huge_ok if label == "huge-int" else None
        probe(
            f"{prefix}.{param}={label}",
            name,
            f"{param}={value!r:.30}",
            lambda value=value: call(value),
            Error(names or (param,), otherwise=otherwise),
        )


# ----------------------------------------------------------------------------- probes
def register_all() -> None:
    """Register every probe (families in the register_* functions below)."""
    for register in REGISTERS:
        register()


REGISTERS: list[Callable[[], None]] = []


def family(function: Callable[[], None]) -> Callable[[], None]:
    REGISTERS.append(function)
    return function


# ---------------------------------------------------------------- attention.AttentionHead
def _head(*weights: object) -> torch.nn.Module:
    return api("AttentionHead")(*weights)


def _out_close(expected: object, rtol: float = 1e-12, atol: float = 1e-13) -> Value:
    return Value(expected, rtol=rtol, atol=atol)


@family
def attention_head_probes() -> None:
    name = "AttentionHead"
    rng = np.random.default_rng(1)
    wq, wk = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    wv = rng.standard_normal((2, 4))
    q, p, x = rng.standard_normal((5, 4)), rng.standard_normal((6, 4)), rng.standard_normal((5, 4))
    ctx = np.vstack((p, x))

    def ref() -> np.ndarray:
        return ref_attention(wq, wk, wv, q, ctx)

    def ref_causal() -> np.ndarray:
        hidden = np.zeros((5, 11), dtype=bool)
        hidden[:, 6:] = np.triu(np.ones((5, 5), dtype=bool), k=1)
        return ref_attention(wq, wk, wv, q, ctx, hidden)

    def scores_logz(part: np.ndarray) -> np.ndarray:
        s = (q @ wq.T) @ (part @ wk.T).T
        top = s.max(axis=1)
        return top + np.log(np.exp(s - top[:, None]).sum(axis=1))

    def ref_rho() -> np.ndarray:
        lp, lx = scores_logz(p), scores_logz(x)
        return 1.0 / (1.0 + np.exp(lx - lp))

    probe(
        "AttentionHead.forward.random",
        name,
        "forward on a random head vs a dense numpy softmax",
        lambda: _head(wq, wk, wv)(q, p, x),
        _out_close(ref),
    )
    probe(
        "AttentionHead.forward.causal",
        name,
        "causal=True vs a masked dense softmax (prefix always visible)",
        lambda: _head(wq, wk, wv)(q, p, x, causal=True),
        _out_close(ref_causal),
    )
    probe(
        "AttentionHead.forward.block_elements=1",
        name,
        "one score per block gives the dense answer",
        lambda: _head(wq, wk, wv)(q, p, x, block_elements=1),
        _out_close(ref),
    )
    probe(
        "AttentionHead.forward.causal-block_elements=3",
        name,
        "causal with tiny blocks",
        lambda: _head(wq, wk, wv)(q, p, x, causal=True, block_elements=3),
        _out_close(ref_causal),
    )
    probe(
        "AttentionHead.dense.random",
        name,
        "dense() vs numpy",
        lambda: _head(wq, wk, wv).dense(q, p, x),
        _out_close(ref),
    )
    probe(
        "AttentionHead.attention_weights.rows",
        name,
        "attention_weights rows sum to 1 and match numpy",
        lambda: _head(wq, wk, wv).attention_weights(q, p, x),
        Check(lambda w: compare(w @ torch.from_numpy(ctx @ wv.T), ref(), 1e-12, 1e-13)),
    )
    probe(
        "AttentionHead.decompose.rho",
        name,
        "rho = Z_P / (Z_P + Z_X) vs numpy log-sum-exp",
        lambda: _head(wq, wk, wv).decompose(q, p, x).rho,
        _out_close(ref_rho),
    )

    def identity(d: object) -> tuple[bool, str]:
        rebuilt = (1 - d.rho)[..., None] * d.input_output + d.rho[..., None] * d.prefix_output
        return compare(rebuilt, d.output, 1e-12, 1e-13)

    probe(
        "PrefixDecomposition.identity",
        "PrefixDecomposition",
        "output = (1 - rho) input_output + rho prefix_output",
        lambda: _head(wq, wk, wv).decompose(q, p, x),
        Check(identity),
    )
    probe(
        "PrefixDecomposition.prefix-only",
        "PrefixDecomposition",
        "no inputs: rho = 1 and output = prefix_output",
        lambda: _head(wq, wk, wv).decompose(q, p, None),
        Check(
            lambda d: (
                compare(d.rho, np.ones(5), 0, 0)[0]
                and compare(d.output, ref_attention(wq, wk, wv, q, p), 1e-12, 1e-13)
            )
        ),
    )
    probe(
        "PrefixDecomposition.inputs-only",
        "PrefixDecomposition",
        "no prefix: rho = 0 and output = input_output",
        lambda: _head(wq, wk, wv).decompose(q, None, x),
        Check(
            lambda d: (
                compare(d.rho, np.zeros(5), 0, 0)[0]
                and compare(d.output, ref_attention(wq, wk, wv, q, x), 1e-12, 1e-13)
            )
        ),
    )
    probe(
        "PrefixDecomposition.empty-prefix",
        "PrefixDecomposition",
        "a (0, D) prefix is no prefix",
        lambda: _head(wq, wk, wv)(q, np.zeros((0, 4)), x),
        _out_close(lambda: ref_attention(wq, wk, wv, q, x)),
    )

    qb = rng.standard_normal((2, 5, 4))
    xb = rng.standard_normal((2, 5, 4))

    def ref_batch() -> np.ndarray:
        return np.stack([ref_attention(wq, wk, wv, qb[b], np.vstack((p, xb[b]))) for b in range(2)])

    probe(
        "AttentionHead.forward.batch",
        name,
        "batched queries/inputs (2, 5, 4), shared prefix",
        lambda: _head(wq, wk, wv)(qb, p, xb),
        _out_close(ref_batch),
    )
    probe(
        "AttentionHead.forward.batch-block_elements=7",
        name,
        "batched, small blocks",
        lambda: _head(wq, wk, wv)(qb, p, xb, block_elements=7),
        _out_close(ref_batch),
    )

    def attend_logz() -> object:
        return _head(wq, wk, wv).attend(q, p).log_normaliser

    probe(
        "AttentionHead.attend.log_normaliser",
        name,
        "attend(): log Z vs numpy",
        attend_logz,
        _out_close(lambda: scores_logz(p)),
    )
    long_rng = np.random.default_rng(7)
    long_prefix = long_rng.standard_normal((200_000, 2))
    long_q = long_rng.standard_normal((3, 2))
    w2 = np.array([[0.7, -0.2], [0.1, 0.4]])
    probe(
        "AttentionHead.forward.long-prefix",
        name,
        "200000-token prefix, block_elements=4096, vs dense numpy",
        lambda: _head(w2, w2.T, w2)(long_q, long_prefix, None, block_elements=4096),
        _out_close(lambda: ref_attention(w2, w2.T, w2, long_q, long_prefix), 1e-10, 1e-12),
    )

    # Every memory layout of every array argument: the same answer.
    for label, value in layouts_2d(wq).items():
        probe(
            f"AttentionHead.w_query.layout-{label}",
            name,
            f"w_query as {label}",
            lambda value=value: _head(value, wk, wv)(q, p, x),
            _out_close(ref),
        )
    for label, value in layouts_2d(q).items():
        probe(
            f"AttentionHead.queries.layout-{label}",
            name,
            f"queries as {label}",
            lambda value=value: _head(wq, wk, wv)(value, p, x),
            _out_close(ref),
        )
    for label in ("negative-stride", "read-only", "transposed-view", "nested-list", "big-endian"):
        value = layouts_2d(p)[label]
        probe(
            f"AttentionHead.prefix.layout-{label}",
            name,
            f"prefix as {label}",
            lambda value=value: _head(wq, wk, wv)(q, value, x),
            _out_close(ref),
        )
    zero_stride = np.broadcast_to(x[:1], (5, 4))
    probe(
        "AttentionHead.inputs.layout-zero-stride",
        name,
        "inputs as a zero-stride broadcast view",
        lambda: _head(wq, wk, wv)(q, p, zero_stride),
        _out_close(lambda: ref_attention(wq, wk, wv, q, np.vstack((p, zero_stride)))),
    )
    wq32 = wq.astype(np.float32)
    q32 = q.astype(np.float32)
    for label, value in layouts_2d_lossy(wq).items():
        probe(
            f"AttentionHead.w_query.layout-{label}",
            name,
            f"w_query as {label}: same as its float64 value",
            lambda value=value: _head(value, wk, wv)(q, p, x),
            _out_close(lambda: ref_attention(wq32.astype(np.float64), wk, wv, q, ctx)),
        )
    for label, value in layouts_2d_lossy(q).items():
        probe(
            f"AttentionHead.queries.layout-{label}",
            name,
            f"queries as {label}: same as their float64 value",
            lambda value=value: _head(wq, wk, wv)(value, p, x),
            _out_close(lambda: ref_attention(wq, wk, wv, q32.astype(np.float64), ctx)),
        )
    wq_int = rng.integers(-2, 3, (3, 4))
    probe(
        "AttentionHead.w_query.layout-int64",
        name,
        "integer weights",
        lambda: _head(wq_int, wk, wv)(q, p, x),
        _out_close(lambda: ref_attention(wq_int.astype(np.float64), wk, wv, q, ctx)),
    )
    probe(
        "AttentionHead.w_query.layout-int8-torch",
        name,
        "integer (int8) torch weights",
        lambda: _head(torch.from_numpy(wq_int.astype(np.int8)), wk, wv)(q, p, x),
        _out_close(lambda: ref_attention(wq_int.astype(np.float64), wk, wv, q, ctx)),
    )

    # Bad weights.
    bad_weights = {
        "str": "abc",
        "none": None,
        "bool-array": np.ones((3, 4), dtype=bool),
        "complex": wq.astype(complex),
        "nan": np.where(np.eye(3, 4) > 0, NAN, wq),
        "inf": np.where(np.eye(3, 4) > 0, INF, wq),
        "1-d": wq[0],
        "3-d": wq[None],
        "ragged": [[1.0, 2.0, 3.0, 4.0], [1.0]],
        "object": np.array([object()] * 12, dtype=object).reshape(3, 4),
        "dict": {"a": 1},
        "scalar": 1.0,
    }
    for label, value in bad_weights.items():
        for param in ("w_query", "w_value"):
            args = {"w_query": wq, "w_key": wk, "w_value": wv, param: value}
            probe(
                f"AttentionHead.{param}.bad-{label}",
                name,
                f"{param} = {label}",
                lambda args=args: _head(args["w_query"], args["w_key"], args["w_value"]),
                Error((param,)),
            )
    probe(
        "AttentionHead.w_key.shape-mismatch",
        name,
        "w_key (2, 4) vs w_query (3, 4)",
        lambda: _head(wq, wk[:2], wv),
        Error(("w_key",)),
    )
    probe(
        "AttentionHead.w_value.wrong-D",
        name,
        "w_value (2, 5) with D = 4",
        lambda: _head(wq, wk, np.ones((2, 5))),
        Error(("w_value",)),
    )
    probe(
        "AttentionHead.w_query.zero-rows",
        name,
        "weights of shape (0, 4)",
        lambda: _head(np.zeros((0, 4)), np.zeros((0, 4)), wv),
        Error(("w_query", "weight")),
    )
    probe(
        "AttentionHead.w_value.zero-rows",
        name,
        "w_value of shape (0, 4)",
        lambda: _head(wq, wk, np.zeros((0, 4))),
        Error(("w_value", "weight")),
    )

    # Extreme values.
    big = [[1e9]]
    probe(
        "AttentionHead.extreme.tokens-1e9",
        name,
        "weights [[1]], query/prefix/input 1e9: output exactly 1e9",
        lambda: _head([[1.0]], [[1.0]], [[1.0]])(big, big, big),
        Value(np.array([[1e9]]), rtol=1e-15),
    )
    probe(
        "AttentionHead.extreme.tokens-1e9-rho",
        name,
        "weights [[1]], query/prefix/input 1e9: rho exactly 0.5",
        lambda: _head([[1.0]], [[1.0]], [[1.0]]).decompose(big, big, big).rho,
        Value(np.array([0.5]), rtol=1e-15),
    )
    probe(
        "AttentionHead.extreme.weights-1e200",
        name,
        "weights 1e200, tokens 1: scores 1e400 overflow float64",
        lambda: _head([[1e200]], [[1e200]], [[1.0]])([[1.0]], [[1.0]], [[1.0]]),
        Error(("score", "weight", "w_query", "w_key", "token", "overflow")),
    )
    probe(
        "AttentionHead.extreme.weights-1e200-dense",
        name,
        "dense() with scores 1e400",
        lambda: _head([[1e200]], [[1e200]], [[1.0]]).dense([[1.0]], [[1.0]], [[1.0]]),
        Error(("score", "weight", "w_query", "w_key", "token", "overflow")),
    )
    probe(
        "AttentionHead.extreme.scores-minus-1e400",
        name,
        "scores -1e400 and -2e400: all weight on the first token (output 1), or a clear error",
        lambda: _head([[1e200]], [[-1e200]], [[1.0]])([[1.0]], [[1.0], [2.0]], None),
        Error(
            ("score", "weight", "w_query", "w_key", "token", "overflow"),
            otherwise=lambda r: compare(r, [[1.0]], 1e-15, 0),
        ),
    )
    probe(
        "AttentionHead.extreme.tokens-1e155",
        name,
        "unit weights, tokens 1e155: scores 1e310 overflow",
        lambda: _head([[1.0]], [[1.0]], [[1.0]])([[1e155]], [[1e155]], [[1e155]]),
        Error(("score", "weight", "w_query", "w_key", "token", "overflow")),
    )
    probe(
        "AttentionHead.extreme.scores-1e300",
        name,
        "scores 1e300 and 5e299 (finite): all weight on the first token",
        lambda: _head([[1e150]], [[1e150]], [[1.0]])([[1.0]], [[1.0], [0.5]], None),
        Value(np.array([[1.0]]), rtol=1e-15),
    )
    probe(
        "AttentionHead.extreme.values-1.5e308",
        name,
        "zero scores, values 1.5e308 twice: the average is 1.5e308",
        lambda: _head([[0.0]], [[0.0]], [[1.0]])([[1.0]], [[1.5e308], [1.5e308]], None),
        Value(np.array([[1.5e308]]), rtol=1e-15),
    )
    probe(
        "AttentionHead.extreme.tokens-1e-300",
        name,
        "tokens 1e-300 (scores underflow to 0): uniform average",
        lambda: _head([[1.0]], [[1.0]], [[1.0]])([[1e-300]], [[1e-300], [3e-300]], None),
        Value(np.array([[2e-300]]), rtol=1e-12),
    )
    probe(
        "AttentionHead.extreme.score-gap-800",
        name,
        "two tokens 800 apart in score: the top one",
        lambda: _head([[1.0]], [[1.0]], [[1.0]])([[1.0]], [[400.0], [-400.0]], None),
        Value(np.array([[400.0]]), rtol=1e-15),
    )

    # Empty inputs.
    probe(
        "AttentionHead.empty.queries",
        name,
        "0 queries: an empty (0, d_v) output (or a clear error)",
        lambda: _head(wq, wk, wv)(np.zeros((0, 4)), p, x[:0]),
        Error(("queries",), otherwise=lambda r: (tuple(r.shape) == (0, 2), f"shape {r.shape}")),
    )
    probe(
        "AttentionHead.empty.queries-prefix-only",
        name,
        "0 queries, prefix only: an empty (0, d_v) output (or a clear error)",
        lambda: _head(wq, wk, wv)(np.zeros((0, 4)), p),
        Error(("queries",), otherwise=lambda r: (tuple(r.shape) == (0, 2), f"shape {r.shape}")),
    )
    probe(
        "AttentionHead.empty.batch",
        name,
        "batch of 0 sequences: (0, 5, d_v)",
        lambda: _head(wq, wk, wv)(np.zeros((0, 5, 4)), p),
        Error(("queries",), otherwise=lambda r: (tuple(r.shape) == (0, 5, 2), f"shape {r.shape}")),
    )
    probe(
        "AttentionHead.empty.context",
        name,
        "no prefix and no inputs",
        lambda: _head(wq, wk, wv)(q),
        Error(("context", "prefix", "inputs")),
    )
    probe(
        "AttentionHead.empty.attend-tokens",
        name,
        "attend() over 0 tokens",
        lambda: _head(wq, wk, wv).attend(q, np.zeros((0, 4))),
        Error(("tokens",)),
    )

    # Bad call arguments.
    calls = {
        "queries": lambda v: _head(wq, wk, wv)(v, p, x),
        "prefix": lambda v: _head(wq, wk, wv)(q, v, x),
        "inputs": lambda v: _head(wq, wk, wv)(q, p, v),
    }
    bad_tokens = {
        "wrong-width": np.ones((5, 3)),
        "1-d": np.ones(4),
        "nan": np.full((5, 4), NAN),
        "inf": np.full((5, 4), INF),
        "str": "tokens",
        "bool": torch.ones((5, 4), dtype=torch.bool),
        "complex": np.ones((5, 4), dtype=complex),
        "ragged": [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]],
        "scalar": 3.0,
    }
    for param, call in calls.items():
        for label, value in bad_tokens.items():
            probe(
                f"AttentionHead.{param}.bad-{label}",
                name,
                f"{param} = {label}",
                lambda call=call, value=value: call(value),
                Error((param,)),
            )
    probe(
        "AttentionHead.batch.mismatch",
        name,
        "queries batch 2 vs inputs batch 3",
        lambda: _head(wq, wk, wv)(qb, p, rng.standard_normal((3, 5, 4))),
        Error(("inputs", "batch")),
    )
    for label, value in {"str-no": "no", "int-1": 1, "none": None, "str-empty": ""}.items():
        probe(
            f"AttentionHead.causal={label}",
            name,
            f"causal={value!r}",
            lambda value=value: _head(wq, wk, wv)(q, p, x, causal=value),
            Error(("causal",)),
        )
    probe(
        "AttentionHead.causal.count-mismatch",
        name,
        "causal with 5 queries and 4 inputs",
        lambda: _head(wq, wk, wv)(q, p, x[:4], causal=True),
        Error(("causal",)),
    )
    probe(
        "AttentionHead.causal.no-inputs",
        name,
        "causal with no inputs",
        lambda: _head(wq, wk, wv)(q, p, None, causal=True),
        Error(("causal", "inputs")),
    )
    bad_param_family(
        "AttentionHead.forward",
        name,
        "block_elements",
        "pos_int",
        lambda v: _head(wq, wk, wv)(q, p, x, block_elements=v),
        huge_ok=lambda r: compare(r, ref(), 1e-12, 1e-13),
    )

    def random_head(**kw: object) -> object:
        args = {"d_model": 4, "d_qk": 3, "d_value": 2, "seed": 0, **kw}
        return api("AttentionHead").random(
            args["d_model"],
            args["d_qk"],
            args["d_value"],
            seed=args["seed"],
            **({"scale": kw["scale"]} if "scale" in kw else {}),
        )

    bad_param_family(
        "AttentionHead.random",
        name,
        "d_model",
        "pos_int",
        lambda v: random_head(d_model=v),
        only=("zero", "negative", "bool", "float", "huge-int", "str"),
    )
    bad_param_family(
        "AttentionHead.random",
        name,
        "seed",
        "nonneg_int",
        lambda v: random_head(seed=v),
        only=("negative", "bool", "float", "huge-int", "str"),
    )
    for label, value in {"nan": NAN, "inf": INF, "str": "big", "complex": 1j}.items():
        probe(
            f"AttentionHead.random.scale={label}",
            name,
            f"scale={value!r}",
            lambda value=value: random_head(scale=value),
            Error(("scale",)),
        )
    probe(
        "AttentionHead.random.reproducible",
        name,
        "same seed, same weights",
        lambda: (random_head(seed=3).w_query, random_head(seed=3).w_query),
        Check(lambda pair: bool(torch.equal(pair[0], pair[1]))),
    )

    # Differentiability.
    def grad_prefix(leaf: torch.Tensor) -> torch.Tensor:
        return _head(wq, wk, wv)(q, leaf, x)

    probe(
        "AttentionHead.grad.prefix",
        name,
        "prefix with requires_grad: backward vs central finite differences",
        lambda: fd_gradient_check(grad_prefix, torch.tensor(p, requires_grad=True)),
        Check(lambda r: r),
    )

    def grad_queries(leaf: torch.Tensor) -> torch.Tensor:
        return _head(wq, wk, wv)(leaf, p, x, causal=True, block_elements=4)

    probe(
        "AttentionHead.grad.queries-causal",
        name,
        "queries with requires_grad (causal, small blocks): backward vs finite differences",
        lambda: fd_gradient_check(grad_queries, torch.tensor(q, requires_grad=True)),
        Check(lambda r: r),
    )

    probe(
        "AttentionHead.random-10**5-weights",
        "AttentionHead",
        "random(10**5, 10**5, 1): 150 GB of weights, refused with the estimate before allocating",
        lambda: api("AttentionHead").random(10**5, 10**5, 1, seed=0),
        Error(("max_weights",), size=True),
    )


# ------------------------------------------------------------ attention.merge_partial
def _partial(log_z: object, output: object) -> object:
    return api("PartialAttention")(log_normaliser=log_z, output=output)


@family
def merge_partial_probes() -> None:
    name = "merge_partial"

    def merge(a: object, b: object) -> object:
        return api("merge_partial")(a, b)

    def tensors(lz: float, out: float) -> object:
        return _partial(torch.tensor([lz], dtype=F64), torch.tensor([[out]], dtype=F64))

    def output(r: object) -> object:
        return r.output

    def log_z(r: object) -> object:
        return r.log_normaliser

    probe(
        "merge_partial.logz-1e308",
        name,
        "two blocks with log Z = 1e308, outputs 1 and 3: exactly 2",
        lambda: merge(tensors(1e308, 1.0), tensors(1e308, 3.0)),
        Value(np.array([[2.0]]), rtol=0, get=output),
    )
    probe(
        "merge_partial.logz-1e308-normaliser",
        name,
        "log Z = 1e308 twice: merged log Z = 1e308 + log 2 (= 1e308 in float64)",
        lambda: merge(tensors(1e308, 1.0), tensors(1e308, 3.0)),
        Value(np.array([1e308]), rtol=1e-15, get=log_z),
    )
    probe(
        "merge_partial.logz-minus-1e308",
        name,
        "two blocks with log Z = -1e308: exactly 2",
        lambda: merge(tensors(-1e308, 1.0), tensors(-1e308, 3.0)),
        Value(np.array([[2.0]]), rtol=0, get=output),
    )
    probe(
        "merge_partial.logz-opposite",
        name,
        "log Z = 1e308 vs -1e308: the first block",
        lambda: merge(tensors(1e308, 1.0), tensors(-1e308, 3.0)),
        Value(np.array([[1.0]]), rtol=0, get=output),
    )
    probe(
        "merge_partial.one-empty",
        name,
        "log Z = -inf (empty) and 0: the second block",
        lambda: merge(tensors(-INF, 1.0), tensors(0.0, 3.0)),
        Value(np.array([[3.0]]), rtol=0, get=output),
    )
    probe(
        "merge_partial.both-empty",
        name,
        "both blocks empty: output 0, log Z -inf (documented)",
        lambda: merge(tensors(-INF, 0.0), tensors(-INF, 0.0)),
        Check(
            lambda r: (
                float(r.output) == 0.0 and float(r.log_normaliser) == -INF,
                f"output {r.output}, log Z {r.log_normaliser}",
            )
        ),
    )
    probe(
        "merge_partial.unequal-1e3",
        name,
        "log Z 0 and log 3: weights 1/4 and 3/4",
        lambda: merge(tensors(0.0, 1.0), tensors(math.log(3.0), 3.0)),
        Value(np.array([[2.5]]), rtol=1e-15, get=output),
    )
    probe(
        "merge_partial.nan-propagates",
        name,
        "a NaN log normaliser stays NaN in the output (documented)",
        lambda: merge(tensors(NAN, 1.0), tensors(0.0, 3.0)),
        Check(lambda r: (bool(torch.isnan(r.output).all()), f"output {r.output}")),
    )
    probe(
        "merge_partial.shape-mismatch",
        name,
        "blocks for 1 and 2 queries",
        lambda: merge(
            tensors(0.0, 1.0), _partial(torch.zeros(2, dtype=F64), torch.zeros((2, 1), dtype=F64))
        ),
        Error(("shape", "output", "first", "second", "log_normaliser")),
    )
    probe(
        "merge_partial.inner-shape",
        name,
        "log_normaliser shape (2,) with output (1, 1)",
        lambda: merge(
            _partial(torch.zeros(2, dtype=F64), torch.zeros((1, 1), dtype=F64)), tensors(0, 1)
        ),
        Error(("log_normaliser", "first")),
    )
    probe(
        "merge_partial.not-partial",
        name,
        "a tuple instead of a PartialAttention",
        lambda: merge((torch.zeros(1), torch.zeros((1, 1))), tensors(0.0, 1.0)),
        Error(("PartialAttention", "first")),
    )
    probe(
        "merge_partial.lists",
        name,
        "PartialAttention holding lists instead of tensors",
        lambda: merge(_partial([0.0], [[1.0]]), _partial([0.0], [[3.0]])),
        Error(
            ("log_normaliser", "output", "tensor", "first"),
            otherwise=lambda r: compare(r.output, [[2.0]], 1e-15, 0),
        ),
    )
    probe(
        "merge_partial.int64",
        name,
        "integer tensors: exactly 2 (or a clear dtype error)",
        lambda: merge(
            _partial(torch.tensor([0]), torch.tensor([[1]])),
            _partial(torch.tensor([0]), torch.tensor([[3]])),
        ),
        Error(
            ("log_normaliser", "dtype", "float", "first"),
            otherwise=lambda r: compare(r.output, [[2.0]], 1e-15, 0),
        ),
    )
    probe(
        "merge_partial.float32",
        name,
        "float32 blocks, log Z 1e30: 2",
        lambda: merge(
            _partial(torch.tensor([1e30]), torch.tensor([[1.0]])),
            _partial(torch.tensor([1e30]), torch.tensor([[3.0]])),
        ),
        Value(np.array([[2.0]]), rtol=1e-7, get=output),
    )

    rng = np.random.default_rng(3)
    w = rng.standard_normal((3, 3))
    queries, tokens = rng.standard_normal((4, 3)), rng.standard_normal((30, 3))

    def associative() -> object:
        head = _head(w, w.T, w)
        parts = [head.attend(queries, tokens[i : i + 10]) for i in (0, 10, 20)]
        return merge(merge(parts[0], parts[1]), parts[2]).output

    probe(
        "merge_partial.three-blocks",
        name,
        "merging three attend() blocks equals attention over all tokens",
        associative,
        _out_close(lambda: ref_attention(w, w.T, w, queries, tokens)),
    )
    probe(
        "PartialAttention.fields",
        "PartialAttention",
        "attend() returns log Z (Q,) and output (Q, d_v)",
        lambda: _head(w, w.T, w).attend(queries, tokens),
        Check(lambda r: tuple(r.log_normaliser.shape) == (4,) and tuple(r.output.shape) == (4, 3)),
    )
    probe(
        "DEFAULT_BLOCK_ELEMENTS.value",
        "DEFAULT_BLOCK_ELEMENTS",
        "a positive integer; passing it explicitly changes nothing",
        lambda: (
            api("DEFAULT_BLOCK_ELEMENTS"),
            _head(w, w.T, w)(queries, tokens, block_elements=api("DEFAULT_BLOCK_ELEMENTS")),
        ),
        Check(
            lambda r: (
                isinstance(r[0], int)
                and r[0] > 0
                and compare(r[1], ref_attention(w, w.T, w, queries, tokens), 1e-12, 1e-13)[0]
            )
        ),
    )


# ------------------------------------------------------------------------ core_head
def _core_head(m: int = 1, k: int = 1) -> torch.nn.Module:
    return api("CoreHead")(m, k)


def _core_prefix(points: object, values: object, lam: float) -> object:
    return api("core_prefix")(points, values, lam)


def _replace(obj: object, **changes: object) -> object:
    return dataclasses.replace(obj, **changes)


def _theta_target(function: Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    """A target f: S^1 -> R^1 given as a function of the angle."""

    def f(x: torch.Tensor) -> torch.Tensor:
        return function(torch.atan2(x[:, 1], x[:, 0]))[:, None]

    return f


def circle_grid(n: int, t: int) -> torch.Tensor:
    """n equally spaced points of S^1 (offset by half a step), as sequences of t tokens."""
    angles = (torch.arange(n, dtype=F64) + 0.5) * (2 * PI / n)
    return torch.stack((torch.cos(angles), torch.sin(angles)), -1).reshape(-1, t, 2)


def sphere_sample(n: int, m: int, t: int, seed: int = 11) -> torch.Tensor:
    return torch.from_numpy(rand_sphere(n, m, seed)).reshape(-1, t, m + 1)


def guarantee_holds(
    f: Callable, prefix: object, x: torch.Tensor, eps: float | None = None
) -> tuple[bool, str]:
    """The prefix's guarantee is at most eps and at least the sup error measured (with
    pa.sup_error) on the sequences x (every position sees T = max_len tokens)."""
    guaranteed = prefix.parameters.guaranteed
    measured = api("sup_error")(f, prefix, x)
    detail = f"N={len(prefix)} guaranteed {guaranteed:.4g}, measured {measured:.4g}"
    if not math.isfinite(guaranteed) or not math.isfinite(measured):
        return False, "non-finite: " + detail
    if eps is not None and guaranteed > eps * (1 + 1e-12):
        return False, f"guarantee above eps={eps}: " + detail
    return measured <= guaranteed * (1 + 1e-9) + 1e-12, detail


SIZE_WORDS = (
    "points",
    "tokens",
    "size",
    "memory",
    "too many",
    "too large",
    "gib",
    "mib",
    " gb",
    "max_tokens",
    "max_points",
    "cells",
    "prefix length",
    "n_points",
    "n_max",
)


@family
def core_head_probes() -> None:
    name = "CoreHead"
    rng = np.random.default_rng(5)
    theta = np.array([0.1, 1.3, 2.2, 3.9, 5.0])
    points = angles_points(theta)
    values = rng.standard_normal((5, 1))
    lam = 3.0
    x = angles_points(rng.uniform(0, 2 * PI, (2, 3)))  # 2 sequences of 3 tokens

    def ref(seqs: np.ndarray = x, causal: bool = False, pts=points, vals=values, lam=lam):
        return np.stack([ref_core(s, pts, vals, lam, causal) for s in seqs])

    def prefix() -> object:
        return _core_prefix(points, values, lam)

    probe(
        "CoreHead.forward.closed-form",
        name,
        "core head vs sum_j e^(lam<x,c_j>) v_j / (sum_j e^(lam<x,c_j>) + T), mpmath",
        lambda: _core_head()(x, prefix()),
        _out_close(ref),
    )
    probe(
        "CoreHead.forward.causal",
        name,
        "causal: position t counts t input tokens",
        lambda: _core_head()(x, prefix(), causal=True),
        _out_close(lambda: ref(causal=True)),
    )
    probe(
        "CoreHead.forward.tensor-prefix",
        name,
        "the prefix's token tensor gives the same as the CorePrefix",
        lambda: _core_head()(x, prefix().tokens),
        _out_close(ref),
    )
    probe(
        "CoreHead.forward.block_elements=1",
        name,
        "block_elements=1",
        lambda: _core_head()(x, prefix(), block_elements=1),
        _out_close(ref),
    )
    pts2 = rand_sphere(7, 2, 1)
    vals2 = rng.standard_normal((7, 3))
    x2 = rand_sphere(8, 2, 2).reshape(2, 4, 3)
    probe(
        "CoreHead.forward.m2-k3",
        name,
        "CoreHead(2, 3) vs the closed form",
        lambda: _core_head(2, 3)(x2, _core_prefix(pts2, vals2, 2.5)),
        _out_close(lambda: ref(x2, pts=pts2, vals=vals2, lam=2.5)),
    )
    probe(
        "CoreHead.forward.generic-head",
        name,
        "the closed-form input block equals the generic AttentionHead.forward",
        lambda: (
            _core_head()(x, prefix()),
            _head(_core_head().w_query, _core_head().w_key, _core_head().w_value)(
                _core_head().embed(x), prefix().tokens, _core_head().embed(x)
            ),
        ),
        Check(lambda r: compare(r[0], r[1], 1e-12, 1e-13)),
    )
    probe(
        "CoreHead.embed",
        name,
        "embed: [x; 0; 0]",
        lambda: _core_head().embed(x),
        Value(np.concatenate((x, np.zeros((2, 3, 3))), axis=-1), rtol=0),
    )
    one = x[0]
    for label, value in layouts_2d(one).items():
        probe(
            f"CoreHead.x.layout-{label}",
            name,
            f"one sequence x given as {label}",
            lambda value=value: _core_head()(value, prefix()),
            _out_close(lambda: ref(x[:1])[0]),
        )
    ints = np.array([[1, 0], [0, 1], [-1, 0]])
    probe(
        "CoreHead.x.layout-int64",
        name,
        "integer unit vectors",
        lambda: _core_head()(ints, prefix()),
        _out_close(lambda: ref(ints[None].astype(np.float64))[0]),
    )
    probe(
        "CoreHead.x.zero-stride",
        name,
        "x a zero-stride view (one point repeated)",
        lambda: _core_head()(np.broadcast_to(one[:1], (3, 2)), prefix()),
        _out_close(lambda: ref(np.repeat(one[:1], 3, 0)[None])[0]),
    )
    x32 = one.astype(np.float32)
    probe(
        "CoreHead.x.float32",
        name,
        "float32 unit vectors: accepted (as the renormalised point) or an error saying what to do",
        lambda: _core_head()(x32, prefix()),
        Error(
            ("float64", "normalis", "normaliz", "dtype"),
            otherwise=lambda r: compare(r, ref(unit(x32.astype(np.float64))[None])[0], 1e-6, 1e-9),
        ),
    )
    probe(
        "CoreHead.x.torch-float32",
        name,
        "torch float32 unit vectors: accepted or an error saying what to do",
        lambda: _core_head()(torch.from_numpy(x32), prefix()),
        Error(
            ("float64", "normalis", "normaliz", "dtype"),
            otherwise=lambda r: compare(r, ref(unit(x32.astype(np.float64))[None])[0], 1e-6, 1e-9),
        ),
    )
    bad_x = {
        "off-sphere": one * 1.1,
        "nan": np.full((3, 2), NAN),
        "wrong-width": np.ones((3, 3)) / math.sqrt(3),
        "1-d": np.array([1.0, 0.0]),
        "str": "x",
        "bool": torch.ones((3, 2), dtype=torch.bool),
        "complex": one.astype(complex),
        "none": None,
    }
    for label, value in bad_x.items():
        probe(
            f"CoreHead.x.bad-{label}",
            name,
            f"x = {label}",
            lambda value=value: _core_head()(value, prefix()),
            Error(("x",)),
        )
    probe(
        "CoreHead.empty.zero-tokens",
        name,
        "one sequence of 0 tokens: a (0, k) output (or a clear error)",
        lambda: _core_head()(np.zeros((0, 2)), prefix()),
        Error(("x",), otherwise=lambda r: (tuple(r.shape) == (0, 1), f"shape {r.shape}")),
    )
    probe(
        "CoreHead.empty.zero-sequences",
        name,
        "0 sequences of 3 tokens: (0, 3, k)",
        lambda: _core_head()(np.zeros((0, 3, 2)), prefix()),
        Error(("x",), otherwise=lambda r: (tuple(r.shape) == (0, 3, 1), f"shape {r.shape}")),
    )
    probe(
        "CoreHead.empty.zero-tokens-batch",
        name,
        "2 sequences of 0 tokens: (2, 0, k)",
        lambda: _core_head()(np.zeros((2, 0, 2)), prefix()),
        Error(("x",), otherwise=lambda r: (tuple(r.shape) == (2, 0, 1), f"shape {r.shape}")),
    )
    bad_prefix = {
        "other-head": lambda: _core_prefix(pts2, vals2, 1.0),
        "wrong-width": lambda: np.ones((3, 4)),
        "empty": lambda: np.zeros((0, 5)),
        "nan": lambda: np.full((3, 5), NAN),
        "1-d": lambda: np.ones(5),
        "none": lambda: None,
        "str": lambda: "prefix",
        "3-d": lambda: np.ones((2, 3, 5)),
    }
    for label, make in bad_prefix.items():
        probe(
            f"CoreHead.prefix.bad-{label}",
            name,
            f"prefix = {label}",
            lambda make=make: _core_head()(x, make()),
            Error(("prefix",)),
        )
    replaced = {
        "nan-tokens": lambda: torch.full((5, 5), NAN, dtype=F64),
        "zero-tokens": lambda: torch.zeros((0, 5), dtype=F64),
        "wrong-width": lambda: torch.ones((5, 4), dtype=F64),
        "inf-tokens": lambda: torch.full((5, 5), INF, dtype=F64),
        "1-d-tokens": lambda: torch.ones(5, dtype=F64),
    }
    for label, make in replaced.items():
        probe(
            f"CorePrefix.replace.{label}",
            "CorePrefix",
            f"dataclasses.replace(prefix, tokens={label}) into CoreHead",
            lambda make=make: _core_head()(x, _replace(prefix(), tokens=make())),
            Error(("prefix", "tokens")),
        )
    probe(
        "CorePrefix.replace.float32-tokens",
        "CorePrefix",
        "float32 tokens (replace): same as the float64 value of those tokens",
        lambda: _core_head()(x, _replace(prefix(), tokens=prefix().tokens.float())),
        _out_close(
            lambda: ref(
                x,
                pts=np.asarray(prefix().tokens.float().double()[:, 2:4]) / lam,
                vals=np.asarray(prefix().tokens.float().double()[:, 4:]),
            ),
            1e-12,
            1e-12,
        ),
    )
    probe(
        "CorePrefix.replace.float32-near-float64",
        "CorePrefix",
        "float32 tokens (replace): within float32 rounding of the float64 prefix",
        lambda: _core_head()(x, _replace(prefix(), tokens=prefix().tokens.float())),
        _out_close(ref, 1e-5, 1e-6),
    )
    probe(
        "CorePrefix.replace.list-tokens",
        "CorePrefix",
        "tokens as a nested list (replace): same output (or a clear error)",
        lambda: _core_head()(x, _replace(prefix(), tokens=prefix().tokens.tolist())),
        Error(("prefix", "tokens"), otherwise=lambda r: compare(r, ref(), 1e-12, 1e-13)),
    )
    probe(
        "CorePrefix.replace.int-tokens",
        "CorePrefix",
        "integer tokens (replace): the same as float64",
        lambda: _core_head()(
            x, _replace(prefix(), tokens=torch.tensor([[0, 0, 2, 0, 1], [0, 0, 0, -2, 3]]))
        ),
        _out_close(
            lambda: ref(x, pts=np.array([[1.0, 0], [0, -1]]), vals=np.array([[1.0], [3.0]]), lam=2)
        ),
    )
    probe(
        "CorePrefix.handmade",
        "CorePrefix",
        "a CorePrefix built by hand from a list of tokens",
        lambda: _core_head()(
            x, api("CorePrefix")(tokens=[[0.0, 0.0, 2.0, 0.0, 1.0]], m=1, k=1, lam=2.0)
        ),
        Error(
            ("prefix", "tokens"),
            otherwise=lambda r: compare(
                r, ref(x, pts=np.array([[1.0, 0]]), vals=np.array([[1.0]]), lam=2.0), 1e-12, 1e-13
            ),
        ),
    )
    probe(
        "CorePrefix.handmade-wrong-m",
        "CorePrefix",
        "a hand-built CorePrefix whose m disagrees with its token width",
        lambda: _core_head(2, 1)(x2, api("CorePrefix")(tokens=np.ones((2, 5)), m=2, k=1, lam=1.0)),
        Error(("prefix", "tokens", "columns", "width")),
    )
    probe(
        "CorePrefix.accessors",
        "CorePrefix",
        "len, control_points, values, guaranteed of a core_prefix",
        prefix,
        Check(
            lambda pr: (
                len(pr) == 5
                and compare(pr.control_points, points, 1e-14, 1e-15)[0]
                and compare(pr.values, values, 0, 0)[0]
                and pr.guaranteed is None
            )
        ),
    )

    # max_len (the guarantee's sequence length) must be enforced.
    def long_sequence() -> object:
        pr = _replace(prefix(), max_len=2)
        return _core_head()(api("circle_points")(2_000_000), pr)

    probe(
        "CoreHead.max_len.2e6-tokens",
        name,
        "a sequence of 2*10^6 tokens on a max_len=2 prefix: refused",
        long_sequence,
        Error(("max_len",)),
    )
    probe(
        "CoreHead.max_len.3-tokens",
        name,
        "3 tokens on a max_len=2 prefix: refused",
        lambda: _core_head()(x, _replace(prefix(), max_len=2)),
        Error(("max_len",)),
    )
    probe(
        "CoreHead.max_len.exact",
        name,
        "3 tokens on a max_len=3 prefix: accepted",
        lambda: _core_head()(x, _replace(prefix(), max_len=3)),
        _out_close(ref),
    )
    for label, value in {"str-no": "no", "int-1": 1, "none": None}.items():
        probe(
            f"CoreHead.causal={label}",
            name,
            f"causal={value!r}",
            lambda value=value: _core_head()(x, prefix(), causal=value),
            Error(("causal",)),
        )
    bad_param_family(
        "CoreHead",
        name,
        "m",
        "pos_int",
        lambda v: _core_head(v, 1),
        only=("zero", "negative", "bool", "float", "huge-int", "str", "none"),
    )
    bad_param_family(
        "CoreHead",
        name,
        "k",
        "pos_int",
        lambda v: _core_head(1, v),
        only=("zero", "negative", "bool", "float", "huge-int", "str"),
    )
    bad_param_family(
        "CoreHead.forward",
        name,
        "block_elements",
        "pos_int",
        lambda v: _core_head()(x, prefix(), block_elements=v),
        only=("zero", "negative", "bool", "float", "huge-int"),
        huge_ok=lambda r: compare(r, ref(), 1e-12, 1e-13),
    )

    # Voronoi limit and huge/tiny lam.
    xq = angles_points(np.array([0.2, 1.9, 4.0]))[:, None]  # 3 sequences of 1 token

    def nearest_values() -> np.ndarray:
        d = xq[:, 0] @ points.T
        return values[d.argmax(axis=1)][:, None]

    probe(
        "CoreHead.lam-1e300.voronoi",
        name,
        "lam = 1e300: the value of the nearest control point exactly",
        lambda: _core_head()(xq, _core_prefix(points, values, 1e300)),
        Value(nearest_values, rtol=1e-15),
    )
    probe(
        "CoreHead.lam-1e308.voronoi",
        name,
        "lam = 1e308: the value of the nearest control point",
        lambda: _core_head()(xq, _core_prefix(points, values, 1e308)),
        Value(nearest_values, rtol=1e-15),
    )
    probe(
        "CorePrefix.lam-1e308.control_points",
        "CorePrefix",
        "control points read back from a lam = 1e308 prefix",
        lambda: _core_prefix(points, values, 1e308).control_points,
        Value(points, rtol=1e-14, atol=1e-15),
    )
    probe(
        "CorePrefix.lam-5e-324.control_points",
        "CorePrefix",
        "control points read back from a lam = 5e-324 prefix (or lam refused)",
        lambda: _core_prefix(points, values, 5e-324).control_points,
        Error(("lam",), otherwise=lambda r: compare(r, points, 1e-14, 1e-15)),
    )
    probe(
        "CoreHead.lam-1e-300",
        name,
        "lam = 1e-300: uniform average over prefix and inputs",
        lambda: _core_head()(xq, _core_prefix(points, values, 1e-300)),
        Value(np.full((3, 1, 1), values.sum() / 6), rtol=1e-12, atol=1e-15),
    )

    # Differentiability.
    xt = torch.from_numpy(x)

    def grad_plain(leaf: torch.Tensor) -> torch.Tensor:
        return _core_head()(xt, leaf)

    def grad_replaced(leaf: torch.Tensor) -> torch.Tensor:
        return _core_head()(xt, _replace(prefix(), tokens=leaf))

    probe(
        "CoreHead.grad.tensor-prefix",
        name,
        "prefix tensor with requires_grad: backward vs finite differences",
        lambda: fd_gradient_check(grad_plain, prefix().tokens.clone().requires_grad_(True), 6),
        Check(lambda r: r),
    )
    probe(
        "CoreHead.grad.replaced-prefix",
        name,
        "CorePrefix (dataclasses.replace) with requires_grad tokens: backward vs FD",
        lambda: fd_gradient_check(grad_replaced, prefix().tokens.clone().requires_grad_(True), 6),
        Check(lambda r: r),
    )

    probe(
        "CoreHead.m=10**5-weights",
        "CoreHead",
        "CoreHead(10**5, 1): 300 GB of weights, refused with the estimate before allocating",
        lambda: api("CoreHead")(10**5, 1),
        Error(("max_weights",), size=True),
    )


@family
def core_prefix_probes() -> None:
    name = "core_prefix"
    rng = np.random.default_rng(6)
    points = rand_sphere(4, 2, 8)
    values = rng.standard_normal((4, 2))

    def tokens_ok(pr: object, lam: float = 2.0, pts: np.ndarray = points) -> tuple[bool, str]:
        want = np.concatenate((np.zeros_like(pts), lam * pts, values), axis=1)
        return compare(pr.tokens, want, 1e-15, 1e-16)

    probe(
        "core_prefix.tokens",
        name,
        "tokens are [0; lam c; v]",
        lambda: _core_prefix(points, values, 2.0),
        Check(tokens_ok),
    )
    for label, value in layouts_2d(points).items():
        probe(
            f"core_prefix.control_points.layout-{label}",
            name,
            f"control points as {label}",
            lambda value=value: _core_prefix(value, values, 2.0),
            Check(tokens_ok),
        )
    for label, value in layouts_2d(values).items():
        if label in ("negative-stride", "nested-list", "read-only", "big-endian"):
            probe(
                f"core_prefix.values.layout-{label}",
                name,
                f"values as {label}",
                lambda value=value: _core_prefix(points, value, 2.0),
                Check(tokens_ok),
            )
    p32 = points.astype(np.float32)
    probe(
        "core_prefix.control_points.float32",
        name,
        "float32 unit vectors: accepted (renormalised) or an error saying what to do",
        lambda: _core_prefix(p32, values, 2.0),
        Error(
            ("float64", "normalis", "normaliz", "dtype"),
            otherwise=lambda pr: (
                tokens_ok(pr, 2.0, unit(p32.astype(np.float64)))
                if compare(pr.tokens[:, 3:6], 2 * unit(p32.astype(np.float64)), 1e-15, 1e-15)[0]
                else compare(pr.tokens[:, 3:6], 2 * p32.astype(np.float64), 1e-6, 1e-7)
            ),
        ),
    )
    bad_points = {
        "off-sphere": points * 2,
        "nan": np.full((4, 3), NAN),
        "1-d": points[0],
        "last-dim-1": np.ones((4, 1)),
        "str": "points",
        "none": None,
    }
    for label, value in bad_points.items():
        probe(
            f"core_prefix.control_points.bad-{label}",
            name,
            f"control_points = {label}",
            lambda value=value: _core_prefix(value, values, 2.0),
            Error(("control_points",)),
        )
    bad_values_ = {
        "count": values[:3],
        "1-d": values[:, 0],
        "zero-columns": np.zeros((4, 0)),
        "nan": np.full((4, 2), NAN),
        "inf": np.full((4, 2), INF),
        "str": "values",
    }
    for label, value in bad_values_.items():
        probe(
            f"core_prefix.values.bad-{label}",
            name,
            f"values = {label}",
            lambda value=value: _core_prefix(points, value, 2.0),
            Error(("values",)),
        )
    probe(
        "core_prefix.empty",
        name,
        "0 control points",
        lambda: _core_prefix(np.zeros((0, 3)), np.zeros((0, 2)), 2.0),
        Error(("control_points", "empty")),
    )
    bad_param_family(
        "core_prefix", name, "lam", "pos_float", lambda v: _core_prefix(points, values, v)
    )

    probe(
        "CorePrefix.control_points-zero-key",
        "CorePrefix",
        "a hand-made prefix with an all-zero key row: control_points is a clear error, not NaN",
        lambda: api("CorePrefix")(torch.zeros((3, 5), dtype=F64), 1, 1, 1.0).control_points,
        Error(("tokens",)),
    )


@family
def sup_error_probes() -> None:
    name = "sup_error"
    points = angles_points(np.linspace(0, 2 * PI, 9)[:-1])
    f = _theta_target(torch.cos)
    values = np.cos(np.linspace(0, 2 * PI, 9)[:-1])[:, None]
    grid = angles_points(np.linspace(0, 2 * PI, 400, endpoint=False))

    def prefix() -> object:
        return _core_prefix(points, values, 4.0)

    def ref() -> float:
        out = np.array([ref_core(g[None], points, values, 4.0)[0, 0] for g in grid])
        return float(np.abs(out - grid[:, 0]).max())

    probe(
        "sup_error.closed-form",
        name,
        "sup error over 400 one-token sequences vs the closed form (mpmath)",
        lambda: api("sup_error")(f, prefix(), grid[:, None]),
        Value(ref, rtol=1e-10),
    )
    probe(
        "sup_error.target-wrong-size",
        name,
        "a target of output size 2 for a k = 1 prefix",
        lambda: api("sup_error")(lambda z: torch.ones((z.shape[0], 2)), prefix(), grid[:, None]),
        Error(("f",)),
    )
    probe(
        "sup_error.target-1-d",
        name,
        "a target returning shape (Q,)",
        lambda: api("sup_error")(lambda z: z[:, 0], prefix(), grid[:, None]),
        Error(("f",)),
    )
    probe(
        "sup_error.target-nan",
        name,
        "a target returning NaN",
        lambda: api("sup_error")(
            lambda z: torch.full((z.shape[0], 1), NAN), prefix(), grid[:, None]
        ),
        Error(("f",)),
    )
    probe(
        "sup_error.target-not-callable",
        name,
        "f = 3",
        lambda: api("sup_error")(3, prefix(), grid[:, None]),
        Error(("f",)),
    )
    probe(
        "sup_error.prefix-tensor",
        name,
        "a token tensor instead of a CorePrefix",
        lambda: api("sup_error")(f, prefix().tokens, grid[:, None]),
        Error(("prefix",)),
    )
    probe(
        "sup_error.x-wrong-width",
        name,
        "x of width 3 for S^1",
        lambda: api("sup_error")(f, prefix(), np.ones((4, 1, 3)) / math.sqrt(3)),
        Error(("x",)),
    )
    probe(
        "sup_error.x-off-sphere",
        name,
        "x off the sphere",
        lambda: api("sup_error")(f, prefix(), 2 * grid[:, None]),
        Error(("x",)),
    )
    probe(
        "sup_error.x-1-d",
        name,
        "x of shape (2,)",
        lambda: api("sup_error")(f, prefix(), np.array([1.0, 0.0])),
        Error(("x",)),
    )
    probe(
        "sup_error.causal-no",
        name,
        "causal='no'",
        lambda: api("sup_error")(f, prefix(), grid[:, None], causal="no"),
        Error(("causal",)),
    )
    probe(
        "sup_error.max_len",
        name,
        "sequences of 400 tokens on a max_len=4 prefix",
        lambda: api("sup_error")(f, _replace(prefix(), max_len=4), grid[None]),
        Error(("max_len",)),
    )

    probe(
        "sup_error.x-empty",
        "sup_error",
        "x of shape (0, 1, 2): no position to take the largest error over",
        lambda: api("sup_error")(
            _theta_target(torch.cos), prefix(), torch.zeros((0, 1, 2), dtype=F64)
        ),
        Error(("x",)),
    )


@family
def evaluate_target_probes() -> None:
    name = "evaluate_target"
    pts = torch.from_numpy(rand_sphere(6, 1, 3))

    def ev(f: object, points: object = pts, **kw: object) -> object:
        return api("evaluate_target")(f, points, **kw)

    probe(
        "evaluate_target.valid",
        name,
        "f(x) = x[:, :1] * 2",
        lambda: ev(lambda z: 2 * z[:, :1]),
        Value(2 * pts[:, :1].numpy(), rtol=0),
    )
    probe(
        "evaluate_target.list-result",
        name,
        "f returning a nested list",
        lambda: ev(lambda z: z[:, :1].tolist()),
        Value(pts[:, :1].numpy(), rtol=0),
    )
    probe(
        "evaluate_target.float32-result",
        name,
        "f returning float32 numpy",
        lambda: ev(lambda z: z[:, :1].numpy().astype(np.float32)),
        Value(pts[:, :1].numpy().astype(np.float32).astype(np.float64), rtol=0),
    )
    probe(
        "evaluate_target.not-mutated",
        name,
        "f that writes into its argument does not change the caller's points",
        lambda: (ev(lambda z: z.mul_(0)[:, :1]), pts),
        Check(lambda r: bool(torch.equal(r[1], torch.from_numpy(rand_sphere(6, 1, 3))))),
    )
    bad = {
        "1-d": lambda z: z[:, 0],
        "rows": lambda z: torch.ones((z.shape[0] + 1, 1)),
        "nan": lambda z: torch.full((z.shape[0], 1), NAN),
        "str": lambda z: [["a"]] * z.shape[0],
        "bool": lambda z: torch.ones((z.shape[0], 1), dtype=torch.bool),
        "complex": lambda z: torch.ones((z.shape[0], 1), dtype=torch.complex128),
        "none": lambda z: None,
        "3-d": lambda z: torch.ones((z.shape[0], 1, 1)),
    }
    for label, f in bad.items():
        probe(
            f"evaluate_target.f-returns-{label}",
            name,
            f"f returning {label}",
            lambda f=f: ev(f),
            Error(("f",)),
        )
    probe(
        "evaluate_target.f-not-callable",
        name,
        "f = 'cos'",
        lambda: ev("cos"),
        Error(("f",)),
    )
    probe(
        "evaluate_target.name-used",
        name,
        "name='g' appears in the message",
        lambda: ev(lambda z: z[:, 0], name="g"),
        Error(("g",)),
    )
    probe(
        "evaluate_target.points-list",
        name,
        "points as a nested list: evaluated (or a clear error naming points)",
        lambda: ev(lambda z: z[:, :1] * 1.0, pts.tolist()),
        Error(("points",), otherwise=lambda r: compare(r, pts[:, :1].numpy(), 0, 0)),
    )


@family
def build_prefix_probes() -> None:
    name = "build_prefix"
    cos = _theta_target(torch.cos)

    def build(f: object = cos, **kw: object) -> object:
        args = {"m": 1, "eps": 0.2, "bound": 1.0, "max_len": 4, "lipschitz": 1.0, **kw}
        return api("build_prefix")(f, **args)

    probe(
        "build_prefix.cos-S1",
        name,
        "cos on S^1, eps 0.2: guarantee <= eps and >= sup error on 2^16 points (T = max_len)",
        lambda: guarantee_holds(cos, build(), circle_grid(2**16, 4), 0.2),
        Check(lambda r: r),
    )
    probe(
        "build_prefix.cos-S1-eps-0.05",
        name,
        "cos on S^1, eps 0.05, max_len 16",
        lambda: guarantee_holds(cos, build(eps=0.05, max_len=16), circle_grid(2**16, 16), 0.05),
        Check(lambda r: r),
    )

    def s2_target(z: torch.Tensor) -> torch.Tensor:
        return z[:, :1] * z[:, 2:3]

    probe(
        "build_prefix.S2-product",
        name,
        "x_0 x_2 on S^2 (Lipschitz 1), eps 0.3: guarantee vs 40000 random points",
        lambda: guarantee_holds(
            s2_target,
            build(s2_target, m=2, eps=0.3),
            sphere_sample(40000, 2, 4),
            0.3,
        ),
        Check(lambda r: r),
    )
    probe(
        "build_prefix.modulus-sqrt",
        name,
        "modulus w(t) = min(2, t) for cos: guarantee vs 2^16 points",
        lambda: guarantee_holds(
            cos,
            build(lipschitz=None, modulus=lambda t: min(2.0, t), eps=0.3),
            circle_grid(2**16, 4),
            0.3,
        ),
        Check(lambda r: r),
    )
    probe(
        "build_prefix.huge-eps",
        name,
        "eps = 1e300: guarantee <= eps and >= measured",
        lambda: guarantee_holds(cos, build(eps=1e300), circle_grid(2**12, 4), 1e300),
        Check(lambda r: r),
    )
    probe(
        "build_prefix.lipschitz-0-constant",
        name,
        "lipschitz=0 on a constant target: valid",
        lambda: guarantee_holds(
            lambda z: torch.full((z.shape[0], 1), 0.5),
            build(lambda z: torch.full((z.shape[0], 1), 0.5), lipschitz=0.0, eps=0.01),
            circle_grid(2**12, 4),
            0.01,
        ),
        Check(lambda r: r),
    )
    probe(
        "build_prefix.false-lipschitz-0",
        name,
        "lipschitz=0 on cos: refused, or the measured error within the guarantee",
        lambda: build(lipschitz=0.0, eps=0.1),
        Error(
            ("lipschitz", "f is not"),
            otherwise=lambda pr: guarantee_holds(cos, pr, circle_grid(2**16, 4), 0.1),
        ),
    )
    probe(
        "build_prefix.false-lipschitz-small",
        name,
        "lipschitz=0.01 on cos(20 theta) (true 20): refused, or measured within guarantee",
        lambda: build(_theta_target(lambda t: torch.cos(20 * t)), lipschitz=0.01, eps=0.1),
        Error(
            ("lipschitz", "f is not"),
            otherwise=lambda pr: guarantee_holds(
                _theta_target(lambda t: torch.cos(20 * t)), pr, circle_grid(2**16, 4), 0.1
            ),
        ),
    )
    probe(
        "build_prefix.f-above-bound",
        name,
        "2 cos with bound 1",
        lambda: build(_theta_target(lambda t: 2 * torch.cos(t)), lipschitz=2.0),
        Error(("bound",)),
    )
    probe(
        "build_prefix.f-not-callable",
        name,
        "f = None",
        lambda: build(None),
        Error(("f",)),
    )
    probe(
        "build_prefix.f-returns-1-d",
        name,
        "f returning (Q,)",
        lambda: build(lambda z: z[:, 0]),
        Error(("f",)),
    )
    probe(
        "build_prefix.f-returns-nan",
        name,
        "f returning NaN",
        lambda: build(lambda z: torch.full((z.shape[0], 1), NAN)),
        Error(("f",)),
    )
    probe(
        "build_prefix.both-continuity",
        name,
        "lipschitz and modulus both given",
        lambda: build(modulus=lambda t: t),
        Error(("lipschitz", "modulus")),
    )
    probe(
        "build_prefix.no-continuity",
        name,
        "neither lipschitz nor modulus",
        lambda: build(lipschitz=None),
        Error(("lipschitz", "modulus")),
    )
    probe(
        "build_prefix.modulus-not-callable",
        name,
        "modulus = 3",
        lambda: build(lipschitz=None, modulus=3),
        Error(("modulus",)),
    )
    probe(
        "build_prefix.modulus-constant",
        name,
        "modulus w(t) = 1 (does not tend to 0)",
        lambda: build(lipschitz=None, modulus=lambda t: 1.0),
        Error(("modulus",)),
    )
    probe(
        "build_prefix.modulus-nan",
        name,
        "modulus returning NaN",
        lambda: build(lipschitz=None, modulus=lambda t: NAN),
        Error(("modulus",)),
    )
    probe(
        "build_prefix.modulus-false",
        name,
        "modulus w(t) = t/100 for cos (too small): refused, or measured within guarantee",
        lambda: build(lipschitz=None, modulus=lambda t: t / 100, eps=0.1),
        Error(
            ("modulus", "f is not", "continuous"),
            otherwise=lambda pr: guarantee_holds(cos, pr, circle_grid(2**16, 4), 0.1),
        ),
    )

    def huge_max_len(pr: object) -> tuple[bool, str]:
        return guarantee_holds(cos, pr, circle_grid(2**12, 4), 0.2)

    probe(
        "build_prefix.max_len=10**400",
        name,
        "max_len = 10**400: refused, or a prefix whose guarantee still holds (<= eps)",
        lambda: build(max_len=10**400),
        Error(("max_len",), otherwise=huge_max_len),
    )
    for param, kind in (
        ("m", "pos_int"),
        ("eps", "pos_float"),
        ("bound", "pos_float"),
        ("max_len", "pos_int"),
        ("lipschitz", "nonneg_float"),
    ):
        bad_param_family(
            "build_prefix",
            name,
            param,
            kind,
            lambda v, param=param: build(**{param: v}),
            only=None
            if param in ("eps", "max_len")
            else ("negative", "bool", "nan", "str", "huge-int", "zero", "inf", "float"),
            huge_ok=huge_max_len if param == "max_len" else None,
        )

    # Runaways: a clear refusal that names the estimated size is a clear error.
    probe(
        "build_prefix.runaway-S3-eps-1e-6",
        name,
        "S^3 at eps = 1e-6",
        lambda: build(lambda z: z[:, :1], m=3, eps=1e-6),
        Error(SIZE_WORDS, size=True),
    )
    probe(
        "build_prefix.runaway-S20",
        name,
        "S^20 at eps = 0.5",
        lambda: build(lambda z: z[:, :1], m=20, eps=0.5),
        Error(SIZE_WORDS, size=True),
    )
    probe(
        "build_prefix.runaway-S1-eps-1e-12",
        name,
        "S^1 at eps = 1e-12",
        lambda: build(eps=1e-12),
        Error(SIZE_WORDS, size=True),
    )


# --------------------------------------------------------------------------- bounds
def mp_density_bound(near, bound, n, radius, split, lam, max_len) -> float:
    """near + 2 B N e^(-lam (cos r - cos s)) + B T e^(-lam cos r), in 50-digit mpmath."""
    with mpmath.workdps(50):
        r, s, lam_ = mpmath.mpf(radius), mpmath.mpf(split), mpmath.mpf(lam)
        gap = 2 * mpmath.sin((s + r) / 2) * mpmath.sin((s - r) / 2)  # cos r - cos s, no cancel
        far = 2 * mpmath.mpf(bound) * n * mpmath.exp(-lam_ * gap)
        inputs = mpmath.mpf(bound) * max_len * mpmath.exp(-lam_ * mpmath.cos(r))
        return float(mpmath.mpf(near) + far + inputs)


def mp_density_lam(eps, bound, n, radius, delta, max_len) -> float:
    with mpmath.workdps(50):
        r, s = mpmath.mpf(radius), 2 * mpmath.mpf(delta)
        gap = 2 * mpmath.sin((s + r) / 2) * mpmath.sin((s - r) / 2)  # cos r - cos s, no cancel
        far = mpmath.log(8 * mpmath.mpf(bound) * n / eps) / gap
        inputs = mpmath.log(4 * mpmath.mpf(bound) * max_len / eps) / mpmath.cos(r) if max_len else 0
        return float(max(far, inputs, 1))


def density_params_exact(kw: dict) -> Callable[[object], tuple[bool, str]]:
    """Predicate: `guaranteed` equals the exact bound (mpmath) at the returned lam, is at most
    eps, and lam matches the documented formula."""

    def check(params: object) -> tuple[bool, str]:
        lam = params.lam
        exact = mp_density_bound(
            kw["near_error"],
            kw["bound"],
            kw["n_points"],
            kw["radius"],
            2 * kw["delta"],
            lam,
            kw["max_len"],
        )
        lam_exact = mp_density_lam(
            kw["eps"], kw["bound"], kw["n_points"], kw["radius"], kw["delta"], kw["max_len"]
        )
        g = params.guaranteed
        detail = f"lam {lam:.6g} (exact {lam_exact:.6g}), guaranteed {g:.6g}, exact {exact:.6g}"
        if not (math.isfinite(g) and math.isfinite(lam)):
            return False, "non-finite: " + detail
        if g > kw["eps"] * (1 + 1e-12) or exact > kw["eps"] * (1 + 1e-9):
            return False, "above eps: " + detail
        if abs(g - exact) > 1e-9 * abs(exact) + 1e-300:
            return False, "guarantee is not the bound at its lam: " + detail
        if abs(lam - lam_exact) > 1e-8 * lam_exact:
            return False, "lam is not the documented formula: " + detail
        return True, detail

    return check


@family
def bounds_probes() -> None:
    name = "density_error_bound"
    base = {
        "near_error": 0.01,
        "bound": 1.0,
        "n_points": 100,
        "radius": 0.1,
        "split": 0.2,
        "lam": 50.0,
        "max_len": 4,
    }

    def deb(**kw: object) -> object:
        return api("density_error_bound")(**{**base, **kw})

    for label, kw in {
        "typical": {},
        "tiny-angles": {"radius": 0.9e-8, "split": 2e-8, "lam": 1e17},
        "lam-0": {"lam": 0.0},
        "lam-1e308": {"lam": 1e308},
        "max_len-0": {"max_len": 0},
        "bound-0": {"bound": 0.0},
        "split-pi/2": {"split": PI / 2, "radius": 1.5},
        "n_points-2**50": {"n_points": 2**50, "lam": 1e3},
    }.items():
        args = {**base, **kw}
        probe(
            f"density_error_bound.{label}",
            name,
            f"{label}: vs the formula in mpmath",
            lambda kw=kw: deb(**kw),
            Value(
                lambda args=args: mp_density_bound(
                    args["near_error"],
                    args["bound"],
                    args["n_points"],
                    args["radius"],
                    args["split"],
                    args["lam"],
                    args["max_len"],
                ),
                rtol=1e-9,
            ),
        )
    probe(
        "density_error_bound.radius-above-split",
        name,
        "radius 0.3 > split 0.2",
        lambda: deb(radius=0.3),
        Error(("radius", "split")),
    )
    probe(
        "density_error_bound.split-above-pi/2",
        name,
        "split 2 > pi/2",
        lambda: deb(split=2.0),
        Error(("split",)),
    )
    for param, kind in (
        ("near_error", "nonneg_float"),
        ("bound", "nonneg_float"),
        ("n_points", "pos_int"),
        ("radius", "pos_float"),
        ("split", "pos_float"),
        ("lam", "nonneg_float"),
        ("max_len", "nonneg_int"),
    ):
        bad_param_family(
            "density_error_bound",
            name,
            param,
            kind,
            lambda v, param=param: deb(**{param: v}),
            only=("negative", "nan", "bool", "str", "huge-int", "inf", "zero"),
        )

    name = "lipschitz_error_bound"

    def leb(**kw: object) -> object:
        args = {**base, "lipschitz": 2.0, **kw}
        del args["near_error"]
        return api("lipschitz_error_bound")(**args)

    probe(
        "lipschitz_error_bound.typical",
        name,
        "L split + far + inputs vs mpmath",
        leb,
        Value(lambda: mp_density_bound(0.4, 1.0, 100, 0.1, 0.2, 50.0, 4), rtol=1e-9),
    )
    probe(
        "lipschitz_error_bound.tiny-angles",
        name,
        "radius 0.9e-8, split 2e-8, lam 1e17",
        lambda: leb(radius=0.9e-8, split=2e-8, lam=1e17),
        Value(lambda: mp_density_bound(4e-8, 1.0, 100, 0.9e-8, 2e-8, 1e17, 4), rtol=1e-9),
    )
    bad_param_family(
        "lipschitz_error_bound",
        name,
        "lipschitz",
        "nonneg_float",
        lambda v: leb(lipschitz=v),
        only=("negative", "nan", "inf", "bool", "str", "huge-int"),
    )
    bad_param_family(
        "lipschitz_error_bound",
        name,
        "split",
        "pos_float",
        lambda v: leb(split=v),
        only=("negative", "nan", "zero"),
    )

    name = "density_parameters"
    brief = {
        "eps": 0.1,
        "near_error": 0.0,
        "delta": 1e-8,
        "bound": 1.0,
        "n_points": 100,
        "radius": 0.9e-8,
        "max_len": 4,
    }
    cases = {
        "delta-1e-8": brief,
        "delta=r=1e-9": {**brief, "delta": 1e-9, "radius": 1e-9},
        "typical": {
            "eps": 0.1,
            "near_error": 0.05,
            "delta": 0.1,
            "bound": 1.0,
            "n_points": 50,
            "radius": 0.09,
            "max_len": 10,
        },
        "max_len-0": {**brief, "max_len": 0},
        "eps-1e-300": {**brief, "eps": 1e-300},
        "bound-1e300": {**brief, "bound": 1e300, "eps": 1.0},
        "bound-1e308": {**brief, "bound": 1e308, "eps": 1.0, "n_points": 2**40},
        "delta-pi/4": {**brief, "delta": PI / 4, "radius": PI / 4},
        "delta=r=1e-150": {**brief, "delta": 1e-150, "radius": 1e-150},
    }
    for label, kw in cases.items():
        probe(
            f"density_parameters.{label}",
            name,
            f"{label}: guaranteed = exact bound at its lam (mpmath), <= eps",
            lambda kw=kw: api("density_parameters")(**kw),
            Check(density_params_exact(kw)),
        )

    def dp(**kw: object) -> object:
        return api("density_parameters")(**{**brief, **kw})

    probe(
        "density_parameters.near_error-above-eps/2",
        name,
        "near_error 0.06 > eps/2",
        lambda: dp(near_error=0.06),
        Error(("near_error",)),
    )
    probe(
        "density_parameters.delta-above-pi/4",
        name,
        "delta 1 > pi/4",
        lambda: dp(delta=1.0, radius=0.5),
        Error(("delta",)),
    )
    probe(
        "density_parameters.radius-above-delta",
        name,
        "radius 2e-8 > delta 1e-8",
        lambda: dp(radius=2e-8),
        Error(("radius",)),
    )
    probe(
        "density_parameters.max_len=10**400",
        name,
        "max_len = 10**400: refused, or the exact bound at its lam, <= eps",
        lambda: dp(max_len=10**400),
        Error(("max_len",), otherwise=density_params_exact({**brief, "max_len": HUGE_INT})),
    )
    for param, kind in (
        ("eps", "pos_float"),
        ("near_error", "nonneg_float"),
        ("delta", "pos_float"),
        ("bound", "pos_float"),
        ("n_points", "pos_int"),
        ("radius", "pos_float"),
        ("max_len", "nonneg_int"),
    ):
        bad_param_family(
            "density_parameters",
            name,
            param,
            kind,
            lambda v, param=param: dp(**{param: v}),
            only=("negative", "nan", "bool", "str", "huge-int", "zero", "inf"),
        )

    name = "lipschitz_parameters"

    def lp(**kw: object) -> object:
        args = {
            "eps": 0.1,
            "lipschitz": 1.0,
            "bound": 1.0,
            "n_points": 126,
            "radius": 0.025,
            "max_len": 4,
            **kw,
        }
        return api("lipschitz_parameters")(**args)

    probe(
        "lipschitz_parameters.typical",
        name,
        "delta = eps/4L, near error 2 L delta, guarantee exact and <= eps",
        lp,
        Check(
            density_params_exact(
                {
                    "eps": 0.1,
                    "near_error": 0.05,
                    "delta": 0.025,
                    "bound": 1.0,
                    "n_points": 126,
                    "radius": 0.025,
                    "max_len": 4,
                }
            )
        ),
    )
    probe(
        "lipschitz_parameters.lipschitz-0",
        name,
        "L = 0: delta = pi/4",
        lambda: lp(lipschitz=0.0, radius=0.7),
        Check(lambda r: (abs(r.delta - PI / 4) < 1e-15 and r.guaranteed <= 0.1, f"{r}")),
    )
    probe(
        "lipschitz_parameters.radius-above-delta",
        name,
        "radius 0.03 > delta 0.025",
        lambda: lp(radius=0.03),
        Error(("radius",)),
    )
    bad_param_family(
        "lipschitz_parameters",
        name,
        "lipschitz",
        "nonneg_float",
        lambda v: lp(lipschitz=v),
        only=("negative", "nan", "inf", "bool", "str", "huge-int"),
    )

    name = "lipschitz_delta"
    for label, (eps, lip, want) in {
        "typical": (0.1, 1.0, 0.025),
        "capped": (10.0, 1.0, PI / 4),
        "zero-L": (0.1, 0.0, PI / 4),
        "L-1e308": (0.1, 1e308, 0.025 / 1e308),
        "L-1e-320": (0.1, 1e-320, PI / 4),
        "eps-1e-300": (1e-300, 1e10, 2.5e-311),
    }.items():
        probe(
            f"lipschitz_delta.{label}",
            name,
            f"lipschitz_delta({eps}, {lip}) = {want:.6g}",
            lambda eps=eps, lip=lip: api("lipschitz_delta")(eps=eps, lipschitz=lip),
            Value(want, rtol=1e-12),
        )
    bad_param_family(
        "lipschitz_delta",
        name,
        "eps",
        "pos_float",
        lambda v: api("lipschitz_delta")(eps=v, lipschitz=1.0),
    )
    bad_param_family(
        "lipschitz_delta",
        name,
        "lipschitz",
        "nonneg_float",
        lambda v: api("lipschitz_delta")(eps=0.1, lipschitz=v),
        only=("negative", "nan", "inf", "bool", "str", "huge-int", "none"),
    )

    name = "modulus_delta"
    for label, (modulus, eps, want) in {
        "identity": (lambda t: t, 0.1, 0.025),
        "sqrt": (math.sqrt, 0.1, 0.1**2 / 8),
        "zero": (lambda t: 0.0, 0.1, PI / 4),
        "3t-tensor": (lambda t: torch.tensor(3.0 * t, dtype=F64), 0.3, 0.025),
    }.items():
        probe(
            f"modulus_delta.{label}",
            name,
            f"largest delta with w(2 delta) <= eps/2: {want:.6g}",
            lambda modulus=modulus, eps=eps: api("modulus_delta")(modulus, eps=eps),
            Value(want, rtol=1e-11),
        )
    for label, modulus in {
        "not-callable": 3.0,
        "nan": lambda t: NAN,
        "negative": lambda t: -1.0,
        "constant-1": lambda t: 1.0,
        "str": lambda t: "small",
        "none": lambda t: None,
    }.items():
        probe(
            f"modulus_delta.modulus-{label}",
            name,
            f"modulus {label}",
            lambda modulus=modulus: api("modulus_delta")(modulus, eps=0.1),
            Error(("modulus",)),
        )
    bad_param_family(
        "modulus_delta",
        name,
        "eps",
        "pos_float",
        lambda v: api("modulus_delta")(lambda t: t, eps=v),
        only=("negative", "nan", "inf", "zero", "bool", "str", "huge-int"),
    )

    # Newcomer review (h9c): extreme arguments of result C and the paper's route.
    probe(
        "lipschitz_delta.eps-5e-324",
        "lipschitz_delta",
        "eps / (4 L) rounds to 0: refused naming eps (was 0.0)",
        lambda: api("lipschitz_delta")(eps=5e-324, lipschitz=1.0),
        Error(("eps",)),
    )
    probe(
        "density_parameters.delta-radius-1e-300",
        "density_parameters",
        "delta = radius = 1e-300: a clear refusal naming delta (was ZeroDivisionError)",
        lambda: api("density_parameters")(
            eps=0.1, near_error=0.0, delta=1e-300, bound=1.0, n_points=100, radius=1e-300, max_len=4
        ),
        Error(("delta", "radius")),
    )
    probe(
        "lipschitz_parameters.eps-1e-300",
        "lipschitz_parameters",
        "eps = 1e-300: lam beyond a float, refused naming eps and lipschitz",
        lambda: api("lipschitz_parameters")(
            eps=1e-300, lipschitz=1.0, bound=1.0, n_points=10, radius=1e-301, max_len=2
        ),
        Error(("eps", "lipschitz")),
    )
    probe(
        "lipschitz_prefix_length_bound.m-10**6",
        "lipschitz_prefix_length_bound",
        "m = 10^6: refused at once with the size (was a 4300-digit str error after 6 s)",
        lambda: api("lipschitz_prefix_length_bound")(10**6, eps=1e-3, lipschitz=1.0),
        Error(("eps", "lipschitz", "m"), size=True),
    )
    for lam in (1e12, 2e16, 1e100, 1e200, 1e308):
        probe(
            f"vmf_mean_distance_bound.m=2-lam={lam:g}",
            "vmf_mean_distance_bound",
            f"Amos's bound at lam = {lam:g}, without cancellation (was 0 or 2.22)",
            lambda lam=lam: api("vmf_mean_distance_bound")(2, lam),
            Value(lambda lam=lam: mp_vmf_amos(2, lam), rtol=1e-12),
        )
    probe(
        "paper_route_parameters.bound-1e308",
        "paper_route_parameters",
        "B = 1e308: a guarantee <= eps (was a numpy maximum-size error)",
        lambda: api("paper_route_parameters")(1, eps=0.5, lipschitz=1.0, bound=1e308, max_len=2),
        Check(lambda r: (0 < r.guaranteed <= 0.5, f"guaranteed {r.guaranteed}")),
    )
    probe(
        "continuous_prefix_size_lower_bound_on_cube.lipschitz-1e308",
        "continuous_prefix_size_lower_bound_on_cube",
        "L = 1e308: refused naming lipschitz and eps (was OverflowError)",
        lambda: api("continuous_prefix_size_lower_bound_on_cube")(
            2, eps=0.1, lipschitz=1e308, bound=1.0
        ),
        Error(("lipschitz", "eps"), size=True),
    )
    probe(
        "continuous_prefix_length_lower_bound.lipschitz-1e308",
        "continuous_prefix_length_lower_bound",
        "L = 1e308 on S^1: ceil(pi L / (2 D eps)) from logarithms (was refused)",
        lambda: api("continuous_prefix_length_lower_bound")(
            1, eps=0.1, lipschitz=1e308, bound=1.0, token_dim=7
        ),
        Check(
            lambda r: (
                isinstance(r, int)
                and abs(r - mp_int_ceil(mpmath.pi * mpmath.mpf(1e308) / (14 * mpmath.mpf(0.1))))
                <= mp_int_ceil(mpmath.pi * mpmath.mpf(1e308) / 1.4) // 10**11,
                str(r)[:30],
            )
        ),
    )

    name = "paper_prefix_length_exponent"
    for m in (1, 2, 7, 100):
        probe(
            f"paper_prefix_length_exponent.m={m}",
            name,
            f"10 + 14 m + 4 m^2 at m = {m}",
            lambda m=m: api("paper_prefix_length_exponent")(m),
            Check(lambda r, m=m: (type(r) is int and r == 10 + 14 * m + 4 * m * m, repr(r))),
        )
    bad_param_family(
        "paper_prefix_length_exponent",
        name,
        "m",
        "pos_int",
        lambda v: api("paper_prefix_length_exponent")(v),
        huge_ok=lambda r: r == 10 + 14 * HUGE_INT + 4 * HUGE_INT**2,
    )


def mp_vmf_amos(m: int, lam: float) -> float:
    """pi sqrt((1 - A) / 2) with Amos's 1 - A = 1 - lam / (c + sqrt(lam^2 + c^2)),
    c = (m+1)/2, in 60-digit mpmath."""
    with mpmath.workdps(60):
        c, x = mpmath.mpf(m + 1) / 2, mpmath.mpf(lam)
        s = mpmath.sqrt(x * x + c * c)  # 1 - x / (c + s) = (c + c^2 / (s + x)) / (c + s)
        return float(mpmath.pi * mpmath.sqrt((c + c * c / (s + x)) / (c + s) / 2))


def mp_int_ceil(value: object) -> int:
    with mpmath.workdps(60):
        return int(mpmath.ceil(value))


def mp_bessel_ratios(lam: float, n_max: int) -> np.ndarray:
    with mpmath.workdps(40):
        i0 = mpmath.besseli(0, lam)
        return np.array([float(mpmath.besseli(n, lam) / i0) for n in range(n_max + 1)])


@family
def bessel_probes() -> None:
    name = "bessel_ratios"
    for lam, n_max in (
        (1e-3, 5),
        (0.5, 8),
        (10.0, 30),
        (700.0, 20),
        (1e4, 10),
        (1e7, 6),
        (1.0, 200),
        (1e-300, 3),
        (2e6, 4),
    ):
        probe(
            f"bessel_ratios.lam={lam:g}-n={n_max}",
            name,
            f"I_n({lam:g}) / I_0 for n <= {n_max} vs mpmath",
            lambda lam=lam, n_max=n_max: api("bessel_ratios")(lam, n_max),
            Value(lambda lam=lam, n_max=n_max: mp_bessel_ratios(lam, n_max), rtol=1e-10),
        )
    probe(
        "bessel_ratios.lam=1e9-n=5",
        name,
        "bessel_ratios(1e9, 5): mpmath values, or a clear refusal naming the cost",
        lambda: api("bessel_ratios")(1e9, 5),
        Error(
            (*SIZE_WORDS, "lam"),
            size=True,
            otherwise=lambda r: compare(r, mp_bessel_ratios(1e9, 5), 1e-10, 0),
        ),
    )
    probe(
        "bessel_ratios.lam=0",
        name,
        "lam = 0: 1, 0, 0, ...",
        lambda: api("bessel_ratios")(0.0, 4),
        Value(np.array([1.0, 0, 0, 0, 0]), rtol=0),
    )
    probe(
        "bessel_ratios.n_max=0",
        name,
        "n_max = 0: [1]",
        lambda: api("bessel_ratios")(3.0, 0),
        Value(np.array([1.0]), rtol=0),
    )
    probe(
        "bessel_ratios.n_max=10**8",
        name,
        "n_max = 10^8 (800 MB)",
        lambda: api("bessel_ratios")(1.0, 10**8),
        Error(("n_max",)),
    )
    bad_param_family(
        "bessel_ratios",
        name,
        "lam",
        "nonneg_float",
        lambda v: api("bessel_ratios")(v, 3),
    )
    bad_param_family(
        "bessel_ratios",
        name,
        "n_max",
        "nonneg_int",
        lambda v: api("bessel_ratios")(1.0, v),
    )


def measured_core_error(f: Callable, n_points: int, lam: float, max_len: int) -> float:
    """Sup error on 2^14 points (sequences of max_len tokens) of the core head with n
    equally spaced control points, values f(c_j) and inverse temperature lam."""
    pts = api("circle_points")(n_points)
    pr = _core_prefix(pts, f(pts), lam)
    return api("sup_error")(f, pr, circle_grid(2**14, max_len))


@family
def smooth_bound_probes() -> None:
    name = "smooth_circle_error_bound"
    cos = _theta_target(torch.cos)

    def sceb(a: object = (0.0, 1.0), **kw: object) -> object:
        args = {"n_points": 16, "lam": 8.0, "max_len": 4, "bound": 1.0, **kw}
        return api("smooth_circle_error_bound")(a, **args)

    for n_points, lam in ((16, 8.0), (6, 3.0), (64, 200.0), (1, 50.0), (3, 0.5)):
        probe(
            f"smooth_circle_error_bound.cos-N{n_points}-lam{lam:g}",
            name,
            f"bound for cos at N = {n_points}, lam = {lam:g} is >= the measured sup error",
            lambda n_points=n_points, lam=lam: (
                sceb(n_points=n_points, lam=lam),
                measured_core_error(cos, n_points, lam, 4),
            ),
            Check(lambda r: (r[0] >= r[1] * (1 - 1e-9), f"bound {r[0]:.4g}, measured {r[1]:.4g}")),
        )
    cos3 = _theta_target(lambda t: 0.5 + torch.cos(3 * t) - 0.3 * torch.sin(2 * t))
    probe(
        "smooth_circle_error_bound.trig-poly",
        name,
        "0.5 + cos 3t - 0.3 sin 2t at N = 24, lam = 30: bound >= measured",
        lambda: (
            sceb((0.5, 0.0, 0.3, 1.0), n_points=24, lam=30.0, bound=1.8),
            measured_core_error(cos3, 24, 30.0, 4),
        ),
        Check(lambda r: (r[0] >= r[1] * (1 - 1e-9), f"bound {r[0]:.4g}, measured {r[1]:.4g}")),
    )
    for label, value in {
        "negative": (0.0, -1.0),
        "nan": (0.0, NAN),
        "2-d": [[0.0, 1.0]],
        "str": "norms",
        "none": None,
        "complex": np.array([0, 1j]),
    }.items():
        probe(
            f"smooth_circle_error_bound.fourier_norms-{label}",
            name,
            f"fourier_norms = {label}",
            lambda value=value: sceb(value),
            Error(("fourier_norms",)),
        )
    for param, kind in (
        ("n_points", "pos_int"),
        ("lam", "nonneg_float"),
        ("max_len", "nonneg_int"),
        ("bound", "nonneg_float"),
    ):
        bad_param_family(
            "smooth_circle_error_bound",
            name,
            param,
            kind,
            lambda v, param=param: sceb(**{param: v}),
            only=("negative", "nan", "bool", "huge-int", "inf"),
        )

    name = "smooth_circle_parameters"

    def scp(a: object = (0.0, 1.0), **kw: object) -> object:
        args = {"eps": 1e-2, "max_len": 4, "bound": 1.0, **kw}
        return api("smooth_circle_parameters")(a, **args)

    def consistent(params: object, a: object = (0.0, 1.0), eps: float = 1e-2) -> tuple[bool, str]:
        again = sceb(a, n_points=params.n_points, lam=params.lam)
        fewer = (
            sceb(a, n_points=params.n_points - 1, lam=params.lam) if params.n_points > 1 else INF
        )
        ok = params.guaranteed <= eps and abs(again - params.guaranteed) <= 1e-12 * again
        return ok and fewer > eps, f"{params}; bound again {again:.6g}, with N-1 {fewer:.6g}"

    probe(
        "smooth_circle_parameters.cos",
        name,
        "cos at eps 1e-2: guaranteed <= eps, equals the bound, N is the fewest for its lam",
        scp,
        Check(consistent),
    )
    probe(
        "smooth_circle_parameters.max_points-1",
        name,
        "max_points = 1 cannot reach eps",
        lambda: scp(max_points=1),
        Error(("max_points",)),
    )
    probe(
        "smooth_circle_parameters.fourier_norms-negative",
        name,
        "negative norms",
        lambda: scp((1.0, -1.0)),
        Error(("fourier_norms",)),
    )
    probe(
        "smooth_circle_parameters.zero-target",
        name,
        "the zero function: any N works (guarantee <= eps) or a clear error",
        lambda: scp((0.0,)),
        Error(("fourier_norms",), otherwise=lambda r: (r.guaranteed <= 1e-2, f"{r}")),
    )
    for param, kind in (
        ("eps", "pos_float"),
        ("max_len", "nonneg_int"),
        ("bound", "nonneg_float"),
        ("max_points", "pos_int"),
    ):
        bad_param_family(
            "smooth_circle_parameters",
            name,
            param,
            kind,
            lambda v, param=param: scp(**{param: v}),
            only=("negative", "nan", "bool", "huge-int", "zero", "str"),
            huge_ok=consistent if param == "max_points" else None,
        )

    probe(
        "smooth_circle_parameters.10**5-norms",
        name,
        "10^5 stated norms of 1e-9 at eps 0.1: fast (vectorised), consistent with the bound",
        lambda: scp([1e-9] * 10**5, eps=0.1),
        Check(lambda r: consistent(r, [1e-9] * 10**5, 0.1)),
    )
    probe(
        "smooth_circle_parameters.bound-1e6",
        name,
        "B = 1e6, T = 2: the first lam needs N > 10^5, a later one N <= 16 (search goes on)",
        lambda: scp(eps=0.1, max_len=2, bound=1e6),
        Check(
            lambda r: (
                r.n_points <= 16
                and abs(sceb(n_points=r.n_points, lam=r.lam, max_len=2, bound=1e6) - r.guaranteed)
                <= 1e-12 * r.guaranteed
                and r.guaranteed <= 0.1,
                f"{r}",
            )
        ),
    )
    probe(
        "smooth_circle_error_bound.10**6-norms",
        "smooth_circle_error_bound",
        "10^6 stated norms of 1e-9: fast (vectorised), between 0 and 1",
        lambda: sceb([1e-9] * 10**6, n_points=10, lam=1.0, max_len=1),
        Check(lambda r: (0 < r < 1, f"{r}")),
    )


# ------------------------------------------------------------- smooth circle (result D)
@family
def smooth_prefix_probes() -> None:
    name = "smooth_circle_prefix"
    cos = _theta_target(torch.cos)
    cos_norms = [0.0, 1.0]

    def scp(f: object = cos, **kw: object) -> object:
        """smooth_circle_prefix with eps 1e-2, bound 1, max_len 4; the norms of cos unless
        the probe gives its own spectrum (fourier_norms or bandwidth) or says only_f."""
        only_f = kw.pop("only_f", False)
        spectrum = {} if only_f or "bandwidth" in kw else {"fourier_norms": cos_norms}
        args = {"eps": 1e-2, "bound": 1.0, "max_len": 4, **spectrum, **kw}
        return api("smooth_circle_prefix")(f, **args)

    def holds(f: Callable, eps: float, max_len: int = 4) -> Callable[[object], object]:
        return lambda pr: guarantee_holds(f, pr, circle_grid(2**16, max_len), eps)

    probe(
        "smooth_circle_prefix.cos",
        name,
        "cos with fourier_norms=[0, 1] at eps 1e-2: guarantee <= eps, >= sup error (2^16 pts)",
        scp,
        Check(holds(cos, 1e-2)),
    )
    probe(
        "smooth_circle_prefix.cos-eps-1e-4",
        name,
        "cos at eps 1e-4, max_len 16",
        lambda: scp(eps=1e-4, max_len=16),
        Check(holds(cos, 1e-4, 16)),
    )
    two = _theta_target(lambda t: 0.3 * torch.cos(5 * t) + 0.2 * torch.sin(2 * t))
    probe(
        "smooth_circle_prefix.trig-poly",
        name,
        "0.3 cos 5t + 0.2 sin 2t with its norms at eps 1e-2",
        lambda: scp(two, bound=0.5, fourier_norms=[0, 0, 0.2, 0, 0, 0.3]),
        Check(holds(two, 1e-2)),
    )

    def vector(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x

    probe(
        "smooth_circle_prefix.vector-valued",
        name,
        "f(x) = x/2 (k = 2, norms [0, 1/sqrt 2]) at eps 1e-2",
        lambda: scp(vector, bound=0.5, fourier_norms=[0.0, math.sqrt(0.5)]),
        Check(holds(vector, 1e-2)),
    )
    probe(
        "smooth_circle_prefix.only-f-cos",
        name,
        "cos with only f: refused (the spectrum is unknown), or guarantee holds",
        lambda: scp(only_f=True),
        Error(("fourier", "bandwidth"), otherwise=holds(cos, 1e-2)),
    )
    hi = _theta_target(lambda t: torch.cos(4096 * t))
    probe(
        "smooth_circle_prefix.alias-cos-4096",
        name,
        "cos(4096 t) at eps 1e-2, only f: refused, or guarantee >= sup error on 2^17 points",
        lambda: scp(hi, only_f=True),
        Error(
            ("fourier", "alias", "degree", "bandwidth", "n_samples", "frequenc", "resolve"),
            otherwise=lambda pr: guarantee_holds(hi, pr, circle_grid(2**17, 4), 1e-2),
        ),
    )
    nyq = _theta_target(lambda t: torch.cos(t) + 0.5 * torch.cos(2048 * t))
    probe(
        "smooth_circle_prefix.alias-cos-2048",
        name,
        "cos t + 0.5 cos 2048 t, only f: refused, or guarantee >= sup error on 2^17 points",
        lambda: scp(nyq, bound=1.5, only_f=True),
        Error(
            ("fourier", "alias", "degree", "bandwidth", "n_samples", "frequenc", "resolve"),
            otherwise=lambda pr: guarantee_holds(nyq, pr, circle_grid(2**17, 4), 1e-2),
        ),
    )
    probe(
        "smooth_circle_prefix.bandwidth-cos-3t",
        name,
        "cos 3t with bandwidth=3: guarantee holds",
        lambda: scp(_theta_target(lambda t: torch.cos(3 * t)), bandwidth=3),
        Check(holds(_theta_target(lambda t: torch.cos(3 * t)), 1e-2)),
    )
    probe(
        "smooth_circle_prefix.bandwidth-false-1",
        name,
        "cos(4096 t) with bandwidth=1 (false): refused, or guarantee >= sup error",
        lambda: scp(hi, bandwidth=1),
        Error(
            ("bandwidth", "frequenc", "degree"),
            otherwise=lambda pr: guarantee_holds(hi, pr, circle_grid(2**17, 4), 1e-2),
        ),
    )
    probe(
        "smooth_circle_prefix.bandwidth-false-2",
        name,
        "cos t + 0.5 cos 2048 t with bandwidth=2 (false): refused, or guarantee holds",
        lambda: scp(nyq, bound=1.5, bandwidth=2),
        Error(
            ("bandwidth", "frequenc", "degree"),
            otherwise=lambda pr: guarantee_holds(nyq, pr, circle_grid(2**17, 4), 1e-2),
        ),
    )
    probe(
        "smooth_circle_prefix.bandwidth-and-norms",
        name,
        "both bandwidth and fourier_norms",
        lambda: scp(bandwidth=1, fourier_norms=cos_norms),
        Error(("bandwidth", "fourier_norms")),
    )
    for label, value in {
        "zero": 0,
        "negative": -1,
        "bool": True,
        "float": 1.5,
        "str": "1",
        "huge-int": HUGE_INT,
    }.items():
        probe(
            f"smooth_circle_prefix.bandwidth={label}",
            name,
            f"bandwidth = {value!r:.20}",
            lambda value=value: scp(bandwidth=value),
            Error(("bandwidth",)),
        )

    def exp_sin(x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x[:, 1:2])

    probe(
        "smooth_circle_prefix.exp-sin-tail",
        name,
        "exp(sin t) with exp_sin_fourier_norms(20) and its tail bound, eps 1e-2",
        lambda: scp(
            exp_sin,
            bound=math.e,
            fourier_norms=api("exp_sin_fourier_norms")(20)[0],
            tail_bound=api("exp_sin_fourier_norms")(20)[1],
        ),
        Check(holds(exp_sin, 1e-2)),
    )
    probe(
        "smooth_circle_prefix.exp-sin-truncated",
        name,
        "exp(sin t) with only 2 norms and tail_bound 0 (false): refused, or guarantee holds",
        lambda: scp(exp_sin, bound=math.e, fourier_norms=[1.266, 1.130]),
        Error(("fourier_norms", "tail_bound"), otherwise=holds(exp_sin, 1e-2)),
    )
    for label, value in {"negative": -1.0, "nan": NAN, "inf": INF, "str": "0"}.items():
        probe(
            f"smooth_circle_prefix.tail_bound={label}",
            name,
            f"tail_bound = {value!r}",
            lambda value=value: scp(tail_bound=value),
            Error(("tail_bound",)),
        )
    probe(
        "smooth_circle_prefix.false-norms",
        name,
        "cos with fourier_norms=[0, 0.1] (10x too small): refused, or guarantee holds",
        lambda: scp(fourier_norms=[0.0, 0.1]),
        Error(("fourier_norms",), otherwise=holds(cos, 1e-2)),
    )
    probe(
        "smooth_circle_prefix.runaway-eps-1e-9",
        name,
        "cos (norms [0, 1]) at eps = 1e-9 (a clear refusal naming the size is a clear error)",
        lambda: scp(eps=1e-9),
        Error((*SIZE_WORDS, "eps"), size=True, otherwise=holds(cos, 1e-9)),
    )
    probe(
        "smooth_circle_prefix.max_tokens-10",
        name,
        "cos at eps 1e-4 with max_tokens=10: a clear refusal",
        lambda: scp(eps=1e-4, max_tokens=10),
        Error(("max_tokens", "max_points")),
    )
    probe(
        "smooth_circle_prefix.f-above-bound",
        name,
        "2 cos with bound 1",
        lambda: scp(_theta_target(lambda t: 2 * torch.cos(t)), fourier_norms=[0.0, 2.0]),
        Error(("bound",)),
    )
    probe(
        "smooth_circle_prefix.f-not-callable",
        name,
        "f = 'cos'",
        lambda: scp("cos"),
        Error(("f",)),
    )
    probe(
        "smooth_circle_prefix.f-returns-1-d",
        name,
        "f returning (Q,)",
        lambda: scp(lambda z: z[:, 0]),
        Error(("f",)),
    )
    for label, value in {"negative": [0.0, -1.0], "nan": [NAN], "2-d": [[1.0]], "str": "a"}.items():
        probe(
            f"smooth_circle_prefix.fourier_norms-{label}",
            name,
            f"fourier_norms = {label}",
            lambda value=value: scp(fourier_norms=value),
            Error(("fourier_norms",)),
        )
    for param, kind in (("eps", "pos_float"), ("bound", "pos_float"), ("max_len", "pos_int")):
        bad_param_family(
            "smooth_circle_prefix",
            name,
            param,
            kind,
            lambda v, param=param: scp(**{param: v}),
            only=("negative", "nan", "bool", "zero", "str", "huge-int", "inf"),
        )

    name = "circle_fourier_norms"

    def cfn(f: object, **kw: object) -> object:
        return api("circle_fourier_norms")(f, **kw)

    for label, (f, want) in {
        "cos-3t": (_theta_target(lambda t: torch.cos(3 * t)), [0, 0, 0, 1.0]),
        "constant": (lambda z: torch.full((z.shape[0], 1), 2.0), [2.0]),
        "mixed": (
            _theta_target(lambda t: 1 + torch.cos(t) + 0.5 * torch.sin(2 * t)),
            [1.0, 1.0, 0.5],
        ),
        "vector": (lambda z: z.clone(), [0.0, math.sqrt(2.0)]),
        "zero": (lambda z: torch.zeros((z.shape[0], 1)), [0.0]),
    }.items():
        probe(
            f"circle_fourier_norms.{label}",
            name,
            f"norms of {label} are {want}",
            lambda f=f: cfn(f),
            Value(np.array(want, dtype=np.float64), rtol=1e-12, atol=1e-13),
        )
    probe(
        "circle_fourier_norms.n_samples-5",
        name,
        "odd n_samples = 5 on cos t: [0, 1]",
        lambda: cfn(_theta_target(torch.cos), n_samples=5),
        Value(np.array([0.0, 1.0]), rtol=1e-12, atol=1e-13),
    )
    probe(
        "circle_fourier_norms.f-complex",
        name,
        "f returning complex values",
        lambda: cfn(lambda z: torch.ones((z.shape[0], 1), dtype=torch.complex128)),
        Error(("f",)),
    )
    probe(
        "circle_fourier_norms.f-not-callable",
        name,
        "f = 1.0",
        lambda: cfn(1.0),
        Error(("f",)),
    )
    bad_param_family(
        "circle_fourier_norms",
        name,
        "n_samples",
        "pos_int",
        lambda v: cfn(_theta_target(torch.cos), n_samples=v),
        only=("zero", "negative", "bool", "float", "str", "huge-int"),
    )
    probe(
        "circle_fourier_norms.n_samples=3",
        name,
        "n_samples = 3 (below the minimum 4)",
        lambda: cfn(_theta_target(torch.cos), n_samples=3),
        Error(("n_samples",)),
    )

    probe(
        "smooth_circle_prefix.bandwidth-2**16",
        "smooth_circle_prefix",
        "cos declared of bandwidth 2^16 (a spectrum of 65537 norms): fast, guarantee holds",
        lambda: scp(bandwidth=2**16),
        Check(holds(cos, 1e-2)),
    )
    probe(
        "smooth_circle_prefix.bandwidth-2**19",
        "smooth_circle_prefix",
        "bandwidth 2^19 (an FFT of 2^22 samples, within the documented 2^20): guarantee holds",
        lambda: scp(bandwidth=2**19),
        Check(holds(cos, 1e-2)),
    )
    probe(
        "smooth_circle_prefix.max_tokens-3",
        "smooth_circle_prefix",
        "max_tokens = 3 cannot reach eps: the refusal names max_tokens (its keyword)",
        lambda: scp(eps=0.1, bandwidth=1, max_tokens=3),
        Error(("max_tokens",)),
    )
    probe(
        "circle_fourier_norms.n_samples=2**22",
        "circle_fourier_norms",
        "n_samples = 2^22 (within MAX_FOURIER_SAMPLES): the norms of cos t, [0, 1]",
        lambda: cfn(_theta_target(torch.cos), n_samples=2**22),
        Value(np.array([0.0, 1.0]), rtol=1e-12, atol=1e-12),
    )
    probe(
        "circle_fourier_norms.n_samples=2**40",
        "circle_fourier_norms",
        "n_samples = 2^40: refused with the limit and the size before sampling",
        lambda: cfn(_theta_target(torch.cos), n_samples=2**40),
        Error(("n_samples",), size=True),
    )


# --------------------------------------------------------------------------- sphere
def mp_circle(n: int, offset: float) -> np.ndarray:
    # Reducing an offset of 1e300 modulo 2 pi needs about 300 more digits than the answer.
    digits = 60 + max(0, int(math.log10(abs(offset) + 1.0)))
    with mpmath.workdps(digits):
        base = mpmath.fmod(mpmath.mpf(offset), 2 * mpmath.pi)
        angles = [base + 2 * mpmath.pi * j / n for j in range(n)]
        return np.array([[float(mpmath.cos(a)), float(mpmath.sin(a))] for a in angles])


def mp_cap(m: int, radius: float) -> float:
    with mpmath.workdps(40):
        r = mpmath.mpf(radius)

        def small(r: object) -> object:
            return (
                mpmath.betainc(mpmath.mpf(m) / 2, 0.5, 0, mpmath.sin(r) ** 2, regularized=True) / 2
            )

        return float(small(r) if r <= mpmath.pi / 2 else 1 - small(mpmath.pi - r))


def mp_covering_lower(m: int, delta: float) -> int:
    """ceil(1 / cap fraction) in 60-digit mpmath (1 for delta >= pi)."""
    with mpmath.workdps(60):
        r = min(mpmath.mpf(delta), mpmath.pi)

        def small(r: object) -> object:
            return (
                mpmath.betainc(mpmath.mpf(m) / 2, 0.5, 0, mpmath.sin(r) ** 2, regularized=True) / 2
            )

        frac = small(r) if r <= mpmath.pi / 2 else 1 - small(mpmath.pi - r)
        return max(1, int(mpmath.ceil(1 / frac - mpmath.mpf("1e-9"))))


def brute_nearest(q: np.ndarray, p: np.ndarray, exclude: np.ndarray | None = None):
    """Brute-force nearest point by angle (mpmath-free: atan2 form in float64)."""
    diff = np.linalg.norm(q[:, None] - p[None], axis=-1)
    summ = np.linalg.norm(q[:, None] + p[None], axis=-1)
    ang = 2 * np.arctan2(diff, summ)
    if exclude is not None:
        ang[np.arange(len(q)), exclude] = np.inf
    idx = ang.argmin(axis=1)
    return ang[np.arange(len(q)), idx], idx


def nearest_ok(want: tuple) -> Callable[[object], tuple[bool, str]]:
    def check(r: object) -> tuple[bool, str]:
        ok_d, detail = compare(r[0], want[0], 1e-12, 1e-14)
        ok_i = np.array_equal(np.asarray(r[1]), want[1])
        return ok_d and ok_i, detail + ("" if ok_i else "; indices differ")

    return check


@family
def sphere_probes() -> None:
    name = "circle_points"

    def cp(n: object, **kw: object) -> object:
        return api("circle_points")(n, **kw)

    for n, offset in ((8, 1e17), (8, 0.0), (1, 0.0), (5, -3.0), (7, 1e300), (3, 2 * PI)):
        probe(
            f"circle_points.n={n}-offset={offset:g}",
            name,
            f"{n} points at angles offset + 2 pi j / n (offset {offset:g}) vs mpmath",
            lambda n=n, offset=offset: cp(n, offset=offset),
            Value(lambda n=n, offset=offset: mp_circle(n, offset), rtol=0, atol=1e-12),
        )
    for label, value in {"nan": NAN, "inf": INF, "str": "x", "none": None, "complex": 1j}.items():
        probe(
            f"circle_points.offset={label}",
            name,
            f"offset = {value!r}",
            lambda value=value: cp(8, offset=value),
            Error(("offset",)),
        )
    bad_param_family("circle_points", name, "n", "pos_int", lambda v: cp(v))
    probe(
        "circle_points.n=2**40",
        name,
        "2^40 points (16 TiB): a clear refusal naming the size",
        lambda: cp(2**40),
        Error(("n", *SIZE_WORDS), size=True),
    )

    name = "fibonacci_sphere"

    def fib_ref(n: int) -> np.ndarray:
        j = np.arange(n, dtype=np.float64)
        z = 1 - (2 * j + 1) / n
        r = np.sqrt(np.clip(1 - z * z, 0, None))
        lon = j * PI * (3 - math.sqrt(5))
        return np.stack((r * np.cos(lon), r * np.sin(lon), z), -1)

    for n in (1, 2, 100):
        probe(
            f"fibonacci_sphere.n={n}",
            name,
            f"{n} points vs the closed form",
            lambda n=n: api("fibonacci_sphere")(n),
            Value(lambda n=n: fib_ref(n), rtol=0, atol=1e-14),
        )
    bad_param_family(
        "fibonacci_sphere",
        name,
        "n",
        "pos_int",
        lambda v: api("fibonacci_sphere")(v),
        only=("zero", "negative", "bool", "float", "str", "huge-int"),
    )
    probe(
        "fibonacci_sphere.n=2**40",
        name,
        "2^40 points: a clear refusal naming the size",
        lambda: api("fibonacci_sphere")(2**40),
        Error(("n", *SIZE_WORDS), size=True),
    )

    name = "random_sphere_points"

    def rsp(n: object = 5, m: object = 2, seed: object = 0) -> object:
        return api("random_sphere_points")(n, m, seed=seed)

    probe(
        "random_sphere_points.unit",
        name,
        "1000 points on S^4 have norm 1 and are reproducible",
        lambda: (rsp(1000, 4, 3), rsp(1000, 4, 3)),
        Check(
            lambda r: (
                bool(torch.equal(r[0], r[1]))
                and compare(torch.linalg.vector_norm(r[0], dim=1), np.ones(1000), 1e-15, 0)[0]
            )
        ),
    )
    probe(
        "random_sphere_points.n=0",
        name,
        "n = 0: shape (0, m+1)",
        lambda: rsp(0, 2),
        Check(lambda r: (tuple(r.shape) == (0, 3), f"shape {tuple(r.shape)}")),
    )
    probe(
        "random_sphere_points.seeds-differ",
        name,
        "different seeds give different points",
        lambda: (rsp(seed=1), rsp(seed=2)),
        Check(lambda r: not torch.equal(r[0], r[1])),
    )
    bad_param_family(
        "random_sphere_points",
        name,
        "n",
        "nonneg_int",
        lambda v: rsp(n=v),
        only=("negative", "bool", "float", "str", "huge-int"),
    )
    bad_param_family(
        "random_sphere_points",
        name,
        "m",
        "pos_int",
        lambda v: rsp(m=v),
        only=("zero", "negative", "bool", "float", "str", "huge-int"),
    )
    bad_param_family(
        "random_sphere_points",
        name,
        "seed",
        "nonneg_int",
        lambda v: rsp(seed=v),
        only=("negative", "bool", "float", "str", "huge-int", "none"),
    )
    probe(
        "random_sphere_points.seed=2**64",
        name,
        "seed = 2^64",
        lambda: rsp(seed=2**64),
        Error(("seed",)),
    )

    name = "nearest_point"
    q = rand_sphere(50, 2, 21)
    pts = rand_sphere(200, 2, 22)

    def npnt(queries: object = q, points: object = pts, **kw: object) -> object:
        return api("nearest_point")(queries, points, **kw)

    probe(
        "nearest_point.brute-force",
        name,
        "50 queries vs 200 points on S^2: distances and indices vs brute force",
        npnt,
        Check(nearest_ok(brute_nearest(q, pts))),
    )
    probe(
        "nearest_point.block_elements=1",
        name,
        "block_elements = 1",
        lambda: npnt(block_elements=1),
        Check(nearest_ok(brute_nearest(q, pts))),
    )
    own = np.arange(50)
    probe(
        "nearest_point.exclude-self",
        name,
        "nearest other point of a set (exclude = own index)",
        lambda: npnt(pts[:50], pts, exclude=own),
        Check(nearest_ok(brute_nearest(pts[:50], pts, own))),
    )
    probe(
        "nearest_point.exclude-self-blocks",
        name,
        "exclude with block_elements = 7",
        lambda: npnt(pts[:50], pts, exclude=own, block_elements=7),
        Check(nearest_ok(brute_nearest(pts[:50], pts, own))),
    )
    for label, value in layouts_2d(q).items():
        probe(
            f"nearest_point.queries.layout-{label}",
            name,
            f"queries as {label}",
            lambda value=value: npnt(value),
            Check(nearest_ok(brute_nearest(q, pts))),
        )
    for label in ("negative-stride", "read-only", "transposed-view", "nested-list"):
        value = layouts_2d(pts)[label]
        probe(
            f"nearest_point.points.layout-{label}",
            name,
            f"points as {label}",
            lambda value=value: npnt(q, value),
            Check(nearest_ok(brute_nearest(q, pts))),
        )
    q32 = q.astype(np.float32)
    probe(
        "nearest_point.queries.float32",
        name,
        "float32 unit vectors: accepted or an error saying what to do",
        lambda: npnt(q32),
        Error(
            ("float64", "normalis", "normaliz", "dtype"),
            otherwise=lambda r: compare(
                r[0], brute_nearest(unit(q32.astype(float)), pts)[0], 1e-5, 1e-6
            ),
        ),
    )
    for label, kw in {
        "exclude=[999]": {"queries": q[:1], "exclude": [999]},
        "exclude-0.5": {"queries": q[:1], "exclude": [0.5]},
        "exclude-negative": {"queries": q[:1], "exclude": [-1]},
        "exclude-length": {"exclude": [0, 1]},
        "exclude-bool": {"queries": q[:1], "exclude": np.array([True])},
        "exclude-str": {"queries": q[:1], "exclude": "0"},
        "exclude-nan": {"queries": q[:1], "exclude": [NAN]},
    }.items():
        probe(
            f"nearest_point.{label}",
            name,
            label,
            lambda kw=kw: npnt(**kw),
            Error(("exclude",)),
        )
    probe(
        "nearest_point.queries-off-sphere",
        name,
        "queries off the sphere",
        lambda: npnt(q * 3),
        Error(("queries",)),
    )
    probe(
        "nearest_point.points-nan",
        name,
        "points with NaN",
        lambda: npnt(q, np.full((3, 3), NAN)),
        Error(("points",)),
    )
    probe(
        "nearest_point.dimension-mismatch",
        name,
        "queries on S^2, points on S^1",
        lambda: npnt(q, rand_sphere(4, 1, 1)),
        Error(("queries", "points")),
    )
    probe(
        "nearest_point.points-empty",
        name,
        "no points",
        lambda: npnt(q, np.zeros((0, 3))),
        Error(("points",)),
    )
    probe(
        "nearest_point.queries-empty",
        name,
        "no queries: empty results (or a clear error)",
        lambda: npnt(np.zeros((0, 3))),
        Error(
            ("queries",),
            otherwise=lambda r: (r[0].shape[0] == 0 and r[1].shape[0] == 0, f"{r}"),
        ),
    )
    probe(
        "nearest_point.single-point-exclude",
        name,
        "one point, excluded: nothing left",
        lambda: npnt(pts[:1], pts[:1], exclude=[0]),
        Error(("points", "exclude")),
    )
    probe(
        "nearest_point.queries-1-d",
        name,
        "queries of shape (3,)",
        lambda: npnt(q[0]),
        Error(("queries",)),
    )
    bad_param_family(
        "nearest_point",
        name,
        "block_elements",
        "pos_int",
        lambda v: npnt(block_elements=v),
        only=("zero", "negative", "bool", "float", "str", "huge-int"),
        huge_ok=nearest_ok(brute_nearest(q, pts)),
    )

    name = "geodesic_distance"

    def gd(x: object, y: object) -> object:
        return api("geodesic_distance")(x, y)

    probe(
        "geodesic_distance.tiny-angle",
        name,
        "points 1e-10 apart: 1e-10",
        lambda: gd([1.0, 0.0], [math.cos(1e-10), math.sin(1e-10)]),
        Value(1e-10, rtol=1e-12),
    )
    probe(
        "geodesic_distance.antipodal",
        name,
        "antipodal points: pi",
        lambda: gd([0.6, 0.8], [-0.6, -0.8]),
        Value(PI, rtol=1e-15),
    )
    probe(
        "geodesic_distance.near-antipodal",
        name,
        "points pi - 1e-9 apart",
        lambda: gd([1.0, 0.0], [math.cos(PI - 1e-9), math.sin(PI - 1e-9)]),
        Value(PI - 1e-9, rtol=1e-15),
    )
    a, b = rand_sphere(30, 3, 31), rand_sphere(30, 3, 32)
    probe(
        "geodesic_distance.random",
        name,
        "30 random pairs on S^3 vs arccos",
        lambda: gd(a, b),
        Value(lambda: np.arccos(np.clip((a * b).sum(1), -1, 1)), rtol=1e-10),
    )
    probe(
        "geodesic_distance.broadcast",
        name,
        "x (3, 1, 4) and y (1, 5, 4): all pairs (3, 5)",
        lambda: gd(a[:3, None], b[None, :5]),
        Value(lambda: np.arccos(np.clip(a[:3] @ b[:5].T, -1, 1)), rtol=1e-10),
    )
    probe(
        "geodesic_distance.int",
        name,
        "integer unit vectors (1, 0) and (0, 1): pi/2",
        lambda: gd([1, 0], [0, 1]),
        Value(PI / 2, rtol=1e-15),
    )
    probe(
        "geodesic_distance.float32",
        name,
        "float32 unit vectors: accepted or an error saying what to do",
        lambda: gd(a.astype(np.float32), b.astype(np.float32)),
        Error(
            ("float64", "normalis", "normaliz", "dtype"),
            otherwise=lambda r: compare(r, np.arccos(np.clip((a * b).sum(1), -1, 1)), 1e-5, 1e-6),
        ),
    )
    for label, value in layouts_2d(a).items():
        if label in ("negative-stride", "transposed-view", "big-endian", "read-only"):
            probe(
                f"geodesic_distance.x.layout-{label}",
                name,
                f"x as {label}",
                lambda value=value: gd(value, b),
                Value(lambda: np.arccos(np.clip((a * b).sum(1), -1, 1)), rtol=1e-10),
            )
    for label, (x, y, names) in {
        "off-sphere": (a * 2, b, ("x",)),
        "nan": (np.full((2, 4), NAN), b[:2], ("x",)),
        "last-dim-1": ([[1.0]], [[1.0]], ("x",)),
        "dimension-mismatch": (a, rand_sphere(30, 2, 1), ("x and y", "last dimension", "y")),
        "no-broadcast": (a[:3], b[:4], ("broadcast", "x", "y")),
        "str": ("x", b, ("x",)),
        "scalar": (1.0, b, ("x",)),
    }.items():
        probe(
            f"geodesic_distance.{label}",
            name,
            label,
            lambda x=x, y=y: gd(x, y),
            Error(names),
        )

    name = "covering_radius"
    c12 = np.array([[math.cos(2 * PI * j / 12), math.sin(2 * PI * j / 12)] for j in range(12)])
    mids = angles_points((np.arange(12) + 0.5) * 2 * PI / 12)

    def cr(points: object = c12, **kw: object) -> object:
        return api("covering_radius")(points, **kw)

    probe(
        "covering_radius.circle-12",
        name,
        "12 equally spaced points with the midpoints as extra: pi/12",
        lambda: cr(extra=mids, samples=1000),
        Value(PI / 12, rtol=1e-12),
    )
    probe(
        "covering_radius.lower-estimate",
        name,
        "a sample-only estimate is at most the true radius pi/12",
        lambda: cr(samples=5000, seed=4),
        Check(lambda r: (r <= PI / 12 * (1 + 1e-12) and r > 0.9 * PI / 12, f"{r}")),
    )
    probe(
        "covering_radius.points-off-sphere",
        name,
        "points off the sphere",
        lambda: cr(c12 * 2),
        Error(("points",)),
    )
    probe(
        "covering_radius.points-last-dim-1",
        name,
        "points of width 1",
        lambda: cr(np.ones((3, 1))),
        Error(("points",)),
    )
    probe(
        "covering_radius.extra-wrong-width",
        name,
        "extra of width 3 for points on S^1",
        lambda: cr(extra=np.ones((2, 3)) / math.sqrt(3)),
        Error(("extra",)),
    )
    probe(
        "covering_radius.extra-off-sphere",
        name,
        "extra off the sphere",
        lambda: cr(extra=mids * 2),
        Error(("extra",)),
    )
    bad_param_family(
        "covering_radius",
        name,
        "samples",
        "pos_int",
        lambda v: cr(samples=v),
        only=("zero", "negative", "bool", "float", "str", "huge-int"),
    )
    bad_param_family(
        "covering_radius",
        name,
        "seed",
        "nonneg_int",
        lambda v: cr(samples=10, seed=v),
        only=("negative", "bool", "float", "str", "huge-int"),
    )

    name = "delta_net"

    def net_ok(net: object, delta: float, m: int) -> tuple[bool, str]:
        # covering_radius refuses more than 1e11 multiply-adds: fewer samples for big nets
        samples = min(20000, max(1000, int(5e10 / (len(net) * (m + 1)))))
        measured = api("covering_radius")(net.points, samples=samples, seed=1)
        ok = (
            net.radius <= delta * (1 + 1e-12)
            and measured <= net.radius * (1 + 1e-9)
            and tuple(net.points.shape[1:]) == (m + 1,)
            and compare(torch.linalg.vector_norm(net.points, dim=1), np.ones(len(net)), 1e-14, 0)[0]
        )
        return ok, f"N={len(net)} radius {net.radius:.5g} measured {measured:.5g} delta {delta}"

    for m, delta in ((1, 0.1), (2, 0.3), (3, 0.6), (2, PI / 4), (4, 0.9)):
        probe(
            f"delta_net.m={m}-delta={delta:g}",
            name,
            f"S^{m} at delta {delta:g}: certified radius <= delta and >= measured",
            lambda m=m, delta=delta: api("delta_net")(m, delta),
            Check(lambda net, m=m, delta=delta: net_ok(net, delta, m)),
        )
    probe(
        "delta_net.S1-count",
        name,
        "S^1 at delta 0.1: ceil(pi / 0.1) = 32 points, radius pi/32",
        lambda: api("delta_net")(1, 0.1),
        Check(lambda net: (len(net) == 32 and abs(net.radius - PI / 32) < 1e-15, f"{len(net)}")),
    )
    probe(
        "delta_net.delta-pi",
        name,
        "delta >= pi: one point",
        lambda: api("delta_net")(3, 4.0),
        Check(lambda net: (len(net) == 1 and net.radius <= 4.0, f"{len(net)} {net.radius}")),
    )
    probe(
        "delta_net.runaway-S10-pi/4",
        name,
        "delta_net(10, pi/4) (a clear refusal naming the size is a clear error)",
        lambda: api("delta_net")(10, PI / 4),
        Error(SIZE_WORDS, size=True, otherwise=lambda net: net_ok(net, PI / 4, 10)),
    )
    probe(
        "delta_net.runaway-S1-1e-12",
        name,
        "delta_net(1, 1e-12): 3e12 points",
        lambda: api("delta_net")(1, 1e-12),
        Error((*SIZE_WORDS, "delta"), size=True),
    )
    bad_param_family(
        "delta_net",
        name,
        "m",
        "pos_int",
        lambda v: api("delta_net")(v, 0.5),
        only=("zero", "negative", "bool", "float", "str", "huge-int"),
    )
    bad_param_family(
        "delta_net",
        name,
        "delta",
        "pos_float",
        lambda v: api("delta_net")(2, v),
        only=("zero", "negative", "nan", "inf", "bool", "str", "huge-int"),
    )

    name = "cubed_sphere_net"
    for m, cells in ((2, 3), (1, 4), (3, 2)):
        probe(
            f"cubed_sphere_net.m={m}-cells={cells}",
            name,
            f"2 (m+1) c^m points on S^{m}, unit norm, radius >= measured",
            lambda m=m, cells=cells: api("cubed_sphere_net")(m, cells),
            Check(
                lambda net, m=m, cells=cells: (
                    len(net) == 2 * (m + 1) * cells**m and net_ok(net, net.radius, m)[0],
                    f"{len(net)} points, radius {net.radius}",
                )
            ),
        )
    probe(
        "cubed_sphere_net.runaway-S2-1e6",
        name,
        "cubed_sphere_net(2, 10^6): 6e12 points",
        lambda: api("cubed_sphere_net")(2, 10**6),
        Error((*SIZE_WORDS, "cells_per_edge"), size=True),
    )
    bad_param_family(
        "cubed_sphere_net",
        name,
        "m",
        "pos_int",
        lambda v: api("cubed_sphere_net")(v, 2),
        only=("zero", "negative", "bool", "float", "str", "huge-int"),
    )
    bad_param_family(
        "cubed_sphere_net",
        name,
        "cells_per_edge",
        "pos_int",
        lambda v: api("cubed_sphere_net")(2, v),
        only=("zero", "negative", "bool", "float", "str", "huge-int"),
    )
    probe(
        "SphereNet.fields",
        "SphereNet",
        "delta_net returns a SphereNet with len == points.shape[0]",
        lambda: api("delta_net")(2, 0.5),
        Check(
            lambda net: (
                isinstance(net, api("SphereNet")) and len(net) == net.points.shape[0] and net.m == 2
            )
        ),
    )

    name = "cap_fraction"
    for m, r in (
        (1, 0.3),
        (2, 0.3),
        (3, 1.0),
        (1000, 1.4),
        (1000, 2.0),
        (5000, 1.5),
        (100000, 1.56),
        (10**6, 1.569),
        (2000, 0.2),
        (10, PI),
    ):
        probe(
            f"cap_fraction.m={m}-r={r:g}",
            name,
            f"cap fraction of S^{m} at radius {r:g} vs mpmath betainc",
            lambda m=m, r=r: api("cap_fraction")(m, r),
            Value(lambda m=m, r=r: mp_cap(m, r), rtol=1e-9, atol=1e-300),
        )
    probe(
        "cap_fraction.radius-above-pi",
        name,
        "radius 10 > pi: the whole sphere, 1",
        lambda: api("cap_fraction")(2, 10.0),
        Value(1.0, rtol=1e-15),
    )
    probe(
        "cap_fraction.radius-0",
        name,
        "radius 0: 0 (or a clear error)",
        lambda: api("cap_fraction")(2, 0.0),
        Error(("radius",), otherwise=lambda r: (r == 0.0, repr(r))),
    )
    bad_param_family(
        "cap_fraction",
        name,
        "m",
        "pos_int",
        lambda v: api("cap_fraction")(v, 0.5),
        only=("zero", "negative", "bool", "float", "str", "huge-int"),
    )
    bad_param_family(
        "cap_fraction",
        name,
        "radius",
        "pos_float",
        lambda v: api("cap_fraction")(2, v),
        only=("negative", "nan", "inf", "bool", "str", "huge-int"),
    )

    name = "covering_number_lower_bound"
    for m, delta in ((1, 0.1), (2, 0.1), (2, 1e-300), (1000, 0.1), (3, 1e-5), (5, 4.0)):
        probe(
            f"covering_number_lower_bound.m={m}-delta={delta:g}",
            name,
            f"ceil(1 / cap_fraction) on S^{m} at {delta:g} (mpmath)",
            lambda m=m, delta=delta: api("covering_number_lower_bound")(m, delta),
            Check(
                lambda r, m=m, delta=delta: (
                    isinstance(r, int)
                    and abs(r - mp_covering_lower(m, delta))
                    <= max(1, mp_covering_lower(m, delta) // 10**9),
                    f"got {str(r)[:30]}, exact {str(mp_covering_lower(m, delta))[:30]}",
                )
            ),
        )
    bad_param_family(
        "covering_number_lower_bound",
        name,
        "delta",
        "pos_float",
        lambda v: api("covering_number_lower_bound")(2, v),
        only=("zero", "negative", "nan", "bool", "str"),
    )
    bad_param_family(
        "covering_number_lower_bound",
        name,
        "m",
        "pos_int",
        lambda v: api("covering_number_lower_bound")(v, 0.5),
        only=("zero", "negative", "bool", "str", "huge-int"),
    )

    # Newcomer review (h9c): small caps, high dimensions, counts past float range.
    probe(
        "cap_fraction.m=1-r=1e-200",
        "cap_fraction",
        "r / pi on S^1 (was 0)",
        lambda: api("cap_fraction")(1, 1e-200),
        Value(1e-200 / PI, rtol=1e-15),
    )
    probe(
        "covering_number_lower_bound.m=1-delta=1e-160",
        "covering_number_lower_bound",
        "ceil(pi / delta) on S^1 (was 1e-4 too large)",
        lambda: api("covering_number_lower_bound")(1, 1e-160),
        Check(
            lambda r: (
                isinstance(r, int)
                and 0 <= mp_covering_lower(1, 1e-160) - r <= mp_covering_lower(1, 1e-160) // 10**11,
                str(r)[:30],
            )
        ),
    )
    size_refusals = {
        "delta_net.m=10**8-delta=4": lambda: api("delta_net")(10**8, 4.0),
        "delta_net.m=2-delta=5e-324": lambda: api("delta_net")(2, 5e-324),
        "delta_net_size_bound.m=10**7": lambda: api("delta_net_size_bound")(10**7, 0.1),
        "cubed_sphere_size.m=10**6-cells=10**6": lambda: api("cubed_sphere_size")(10**6, 10**6),
        "cubed_sphere_corners.m=10**6": lambda: api("cubed_sphere_corners")(10**6, 1),
        "random_sphere_points.m=10**8": lambda: api("random_sphere_points")(10, 10**8, seed=0),
        "covering_radius.S^3000": lambda: api("covering_radius")(
            api("random_sphere_points")(10, 3000, seed=0)
        ),
        "deepest_hole.S^8-1000": lambda: api("deepest_hole")(
            api("random_sphere_points")(1000, 8, seed=0)
        ),
    }
    for label, call in size_refusals.items():
        probe(
            label,
            label.split(".")[0],
            "refused at once with the size (was a runaway, an allocator or an OverflowError)",
            call,
            Error(("points", "max_points", "samples", "facets", "delta", "cells"), size=True),
        )
    probe(
        "delta_net.m=11-delta=1.3-max_points=1e7",
        "delta_net",
        "24 points (1 cell per edge, radius arctan sqrt 11) at once (was > 120 s)",
        lambda: len(api("delta_net")(11, 1.3, max_points=10**7)),
        Value(24),
    )
    probe(
        "delta_net.m=1000-delta=3",
        "delta_net",
        "2002 points (was an OverflowError)",
        lambda: len(api("delta_net")(1000, 3.0)),
        Value(2002),
    )


# ----------------------------------------------------------------- kolmogorov_arnold
KA_BUILDERS = (
    "ka_centering",
    "ka_shift",
    "ka_times_mean",
    "ka_product",
    "ka_log_sum_exp",
    "ka_root_mean",
)


def constants_hold(rep: object, samples: int = 400) -> tuple[bool, str]:
    """The representation's declared constants hold on a grid: inner values within
    inner_range, means within mean_range (sequences with extreme and random tokens), inner
    Lipschitz constants (finite differences) and outer Lipschitz constants on the mean range
    widened by the margin."""
    n = rep.n
    rng = np.random.default_rng(17)
    xs = torch.from_numpy(
        np.vstack(
            [
                rng.uniform(0, 1, (samples, n)),
                np.eye(n),
                1 - np.eye(n),
                np.zeros((1, n)),
                np.ones((1, n)),
            ]
        )
    )
    grid = torch.linspace(0, 1, 2001, dtype=F64)
    for q in rep.terms:
        lo, hi = rep.inner_range[q]
        for p in range(n):
            v = rep.inner(grid, p, q)
            if v.min() < lo - 1e-12 * max(1, abs(lo)) or v.max() > hi + 1e-12 * max(1, abs(hi)):
                return False, f"inner values of term {q} at p={p} leave {rep.inner_range[q]}"
            slope = float(((v[1:] - v[:-1]).abs() / (grid[1] - grid[0])).max())
            if slope > rep.inner_lipschitz[q] * (1 + 1e-6) + 1e-12:
                return False, (
                    f"inner slope {slope:.4g} of term {q} exceeds {rep.inner_lipschitz[q]:.4g}"
                )
        mean = torch.stack([rep.inner(xs[:, p], p, q) for p in range(n)], 1).mean(1)
        mlo, mhi = rep.mean_range[q]
        if mean.min() < mlo - 1e-12 * max(1, abs(mlo)) or mean.max() > mhi + 1e-12 * max(
            1, abs(mhi)
        ):
            return False, f"means of term {q} in [{float(mean.min()):.4g}, {float(mean.max()):.4g}]"
        z = torch.linspace(mlo - rep.margin, mhi + rep.margin, 4001, dtype=F64)
        for j in range(n):
            out = rep.outer(z, j, q)
            slope = float(
                (torch.linalg.vector_norm(out[1:] - out[:-1], dim=1) / (z[1] - z[0])).max()
            )
            if slope > rep.outer_lipschitz[q] * (1 + 1e-6) + 1e-12:
                return False, (
                    f"outer slope {slope:.4g} of term {q} exceeds {rep.outer_lipschitz[q]:.4g}"
                )
    return True, "declared ranges and Lipschitz constants hold"


def smooth_max_mp(x: list[float], beta: float) -> float:
    with mpmath.workdps(50):
        b = mpmath.mpf(beta)
        return float(mpmath.log(mpmath.fsum(mpmath.exp(b * v) for v in x) / len(x)) / b)


@family
def ka_probes() -> None:
    name = "check_sequences"

    def cs(x: object, n: int = 3, **kw: object) -> object:
        return api("check_sequences")(x, n, **kw)

    seqs = np.random.default_rng(2).uniform(0, 1, (4, 3))
    probe(
        "check_sequences.valid",
        name,
        "valid (4, 3) sequences come back as float64",
        lambda: cs(seqs),
        Value(seqs, rtol=0),
    )
    for label, value in {**layouts_2d(seqs), "int": np.array([[0, 1, 1]])}.items():
        want = np.array([[0.0, 1, 1]]) if label == "int" else seqs
        probe(
            f"check_sequences.layout-{label}",
            name,
            f"x as {label}",
            lambda value=value: cs(value),
            Value(want, rtol=0),
        )
    probe(
        "check_sequences.empty-batch",
        name,
        "0 sequences: shape (0, n)",
        lambda: cs(np.zeros((0, 3))),
        Check(lambda r: (tuple(r.shape) == (0, 3), f"{tuple(r.shape)}")),
    )
    for label, value in {
        "below-0": seqs - 0.5,
        "above-1": seqs + 0.5,
        "nan": np.full((2, 3), NAN),
        "wrong-n": seqs[:, :2],
        "1-d": seqs[0],
        "3-d": seqs[None],
        "str": "seq",
        "bool": np.ones((2, 3), dtype=bool),
    }.items():
        probe(
            f"check_sequences.bad-{label}",
            name,
            f"x = {label}",
            lambda value=value: cs(value),
            Error(("x",)),
        )
    probe(
        "check_sequences.name",
        name,
        "name='tokens' is used in the message",
        lambda: cs(seqs + 1, name="tokens"),
        Error(("tokens",)),
    )
    for label, value in {"zero": 0, "negative": -1, "bool": True, "str": "3", "float": 3.5}.items():
        probe(
            f"check_sequences.n={label}",
            name,
            f"n = {value!r}",
            lambda value=value: api("check_sequences")(seqs, value),
            Error(("n",)),
        )

    for builder in KA_BUILDERS:
        for n in (1, 3):
            probe(
                f"{builder}.n={n}.evaluate-vs-target",
                builder,
                "the representation evaluates to its target on 300 random sequences and corners",
                lambda builder=builder, n=n: (
                    api(builder)(n),
                    np.vstack([np.random.default_rng(n).uniform(0, 1, (300, n)), np.eye(n)]),
                ),
                Check(lambda r: compare(r[0].evaluate(r[1]), r[0](r[1]), 1e-11, 1e-12)),
            )
            probe(
                f"{builder}.n={n}.constants",
                builder,
                "declared ranges and Lipschitz constants hold on grids",
                lambda builder=builder, n=n: api(builder)(n),
                Check(constants_hold),
            )
        bad_param_family(
            builder,
            builder,
            "n",
            "pos_int",
            lambda v, builder=builder: api(builder)(v),
            only=("zero", "negative", "bool", "float", "str", "huge-int", "none"),
        )
    probe(
        "ka_centering.target",
        "ka_centering",
        "x_j - mean(x)",
        lambda: api("ka_centering")(3)([[0.0, 0.5, 1.0]]),
        Value(np.array([[[-0.5], [0.0], [0.5]]]), rtol=1e-15),
    )
    probe(
        "ka_shift.target",
        "ka_shift",
        "previous token, cyclically",
        lambda: api("ka_shift")(3)([[0.1, 0.2, 0.3]]),
        Value(np.array([[[0.3], [0.1], [0.2]]]), rtol=1e-15),
    )
    probe(
        "ka_times_mean.target",
        "ka_times_mean",
        "x_j times the mean",
        lambda: api("ka_times_mean")(2)([[0.2, 0.6]]),
        Value(np.array([[[0.08], [0.24]]]), rtol=1e-14),
    )
    probe(
        "ka_product.target-n60",
        "ka_product",
        "prod (1 + x_p) with all x = 1 and n = 60: 2^60",
        lambda: api("ka_product")(60)(np.ones((1, 60))),
        Value(np.full((1, 60, 1), 2.0**60), rtol=1e-14),
    )
    probe(
        "ka_product.n=2000",
        "ka_product",
        "n = 2000: constants overflow float64 (refused) or finite and holding",
        lambda: api("ka_product")(2000),
        Error(
            ("n",),
            otherwise=lambda r: (
                math.isfinite(r.outer_lipschitz[0]),
                f"outer Lipschitz {r.outer_lipschitz[0]}",
            ),
        ),
    )

    name = "ka_log_sum_exp"
    for beta, x in (
        (710.0, [1.0, 0.5]),
        (1400.0, [1.0, 0.5]),
        (1e-3, [0.2, 0.9]),
        (4.0, [0.0, 1.0]),
        (50.0, [0.3, 0.3]),
    ):
        for how in ("target", "evaluate"):
            probe(
                f"ka_log_sum_exp.beta={beta:g}.{how}",
                name,
                f"(1/beta) log mean exp(beta x) at x = {x}, via rep.{how} (mpmath)",
                lambda beta=beta, x=x, how=how: (
                    api("ka_log_sum_exp")(2, beta=beta)([x])
                    if how == "target"
                    else api("ka_log_sum_exp")(2, beta=beta).evaluate([x])
                ),
                Value(
                    lambda beta=beta, x=x: np.full((1, 2, 1), smooth_max_mp(x, beta)),
                    rtol=1e-12 if how == "target" else 1e-9,
                ),
            )
    probe(
        "ka_log_sum_exp.beta=710.exact-digits",
        name,
        "beta = 710 at (1, 0.5): 0.99902373636540852773",
        lambda: api("ka_log_sum_exp")(2, beta=710.0)([[1.0, 0.5]]),
        Value(np.full((1, 2, 1), 0.99902373636540852773), rtol=2e-16),
    )
    probe(
        "ka_log_sum_exp.beta=1e-300",
        name,
        "beta = 1e-300: refused, or the exact smooth max (the mean, 0.75) at (1, 0.5)",
        lambda: api("ka_log_sum_exp")(2, beta=1e-300).evaluate([[1.0, 0.5]]),
        Error(("beta",), otherwise=lambda r: compare(r, np.full((1, 2, 1), 0.75), 1e-12, 0)),
    )
    probe(
        "ka_log_sum_exp.beta=1e4",
        name,
        "beta = 1e4: refused, or finite constants and the exact value at (1, 0.5)",
        lambda: api("ka_log_sum_exp")(2, beta=1e4).evaluate([[1.0, 0.5]]),
        Error(
            ("beta",),
            otherwise=lambda r: compare(
                r, np.full((1, 2, 1), smooth_max_mp([1, 0.5], 1e4)), 1e-9, 0
            ),
        ),
    )
    probe(
        "ka_log_sum_exp.beta=1400.constants",
        name,
        "beta = 1400: the declared constants are finite and hold",
        lambda: api("ka_log_sum_exp")(1, beta=1400.0),
        Check(constants_hold),
    )
    bad_param_family(
        "ka_log_sum_exp",
        name,
        "beta",
        "pos_float",
        lambda v: api("ka_log_sum_exp")(2, beta=v),
        only=("zero", "negative", "nan", "inf", "bool", "str", "none", "huge-int"),
    )
    probe(
        "KARepresentation.call-out-of-range",
        "KARepresentation",
        "rep(x) with a token 1.5",
        lambda: api("ka_centering")(2)([[0.5, 1.5]]),
        Error(("x",)),
    )
    probe(
        "KARepresentation.evaluate-wrong-n",
        "KARepresentation",
        "rep.evaluate with sequences of 3 tokens for n = 2",
        lambda: api("ka_centering")(2).evaluate([[0.5, 0.5, 0.5]]),
        Error(("x",)),
    )
    probe(
        "KARepresentation.evaluate-inner-shape",
        "KARepresentation",
        "inner returning (B, 1) instead of (B,): refused naming inner",
        lambda: _replace(api("ka_centering")(2), inner=lambda x, p, q: x[:, None]).evaluate(
            [[0.2, 0.7]]
        ),
        Error(("inner",)),
    )
    probe(
        "KARepresentation.evaluate-outer-shape",
        "KARepresentation",
        "outer returning (B,) instead of (B, k): refused naming outer",
        lambda: _replace(api("ka_centering")(2), outer=lambda z, j, q: z).evaluate([[0.2, 0.7]]),
        Error(("outer",)),
    )
    probe(
        "KARepresentation.call-target-shape",
        "KARepresentation",
        "target returning (B, n) instead of (B, n, k): refused naming target",
        lambda: _replace(api("ka_centering")(2), target=lambda x: x)([[0.2, 0.7]]),
        Error(("target",), otherwise=lambda r: (tuple(r.shape) == (1, 2, 1), f"{r.shape}")),
    )
    probe(
        "KARepresentation.fields",
        "KARepresentation",
        "ka_times_mean(2) has 2n terms, one constant per term",
        lambda: api("ka_times_mean")(2),
        Check(
            lambda r: (
                isinstance(r, api("KARepresentation"))
                and r.terms == (0, 1, 2, 3)
                and all(q in r.inner_lipschitz and q in r.outer_lipschitz for q in r.terms)
            )
        ),
    )


# ---------------------------------------------------------------------- transformer
def measured_transformer_error(
    model: object, prefixes: object, target: Callable, n: int, samples: int = 150
) -> float:
    rng = np.random.default_rng(9)
    corners = np.array(np.meshgrid(*[[0.0, 1.0]] * n)).reshape(n, -1).T
    x = torch.from_numpy(np.vstack([rng.uniform(0, 1, (samples, n)), corners]))
    out = model(x, prefixes)
    want = torch.as_tensor(target(x), dtype=F64)
    return float(torch.linalg.vector_norm(out - want, dim=-1).max())


def transformer_guarantee(model: Callable, target: Callable, n: int, eps: float | None):
    def check(prefixes: object) -> tuple[bool, str]:
        measured = measured_transformer_error(model(), prefixes, target, n)
        g = prefixes.guaranteed
        detail = f"{prefixes.total_tokens} tokens, guaranteed {g:.4g}, measured {measured:.4g}"
        if not math.isfinite(g):
            return False, "non-finite guarantee: " + detail
        if eps is not None and g > eps * (1 + 1e-12):
            return False, "guarantee above eps: " + detail
        return measured <= g * (1 + 1e-9) + 1e-12, detail

    return check


def times_mean_target(x: torch.Tensor) -> torch.Tensor:
    return (x * x.mean(1, keepdim=True))[..., None]


def mix_apply(a: torch.Tensor, b: torch.Tensor, j: int) -> torch.Tensor:
    return (a - b)[:, None]


def mix_target(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean(1, keepdim=True))[..., None]


@family
def transformer_probes() -> None:
    for builder, depth in (
        ("ka_transformer", lambda n: 3 * (2 * n + 1)),
        ("gather_transformer", lambda n: n + 1),
        ("mixing_transformer", lambda n: 2),
    ):
        for n in (1, 3):
            probe(
                f"{builder}.n={n}.blank",
                builder,
                f"depth {depth(n)}; blank prefixes give output 0",
                lambda builder=builder, n=n: (
                    api(builder)(n),
                    api(builder)(n)(np.full((2, n), 0.5), api(builder)(n).blank_prefixes()),
                ),
                Check(
                    lambda r, n=n, depth=depth: (
                        r[0].depth == depth(n) and compare(r[1], np.zeros((2, n, 1)), 0, 0)[0],
                        f"depth {r[0].depth}",
                    )
                ),
            )
        bad_param_family(
            builder,
            builder,
            "n",
            "pos_int",
            lambda v, builder=builder: api(builder)(v),
            only=("zero", "negative", "bool", "float", "str", "huge-int"),
        )
        bad_param_family(
            builder,
            builder,
            "k",
            "pos_int",
            lambda v, builder=builder: api(builder)(2, v),
            only=("zero", "negative", "bool", "float", "str"),
        )

    name = "ka_prefixes"

    def kat(n: int = 1) -> object:
        return api("ka_transformer")(n)

    for rep_name, n, eps in (
        ("ka_centering", 1, 0.5),
        ("ka_times_mean", 1, 0.5),
        ("ka_log_sum_exp", 1, 0.5),
        ("ka_shift", 2, 0.5),
    ):
        probe(
            f"ka_prefixes.{rep_name}-n{n}",
            name,
            f"{rep_name}({n}) at eps {eps}: guarantee <= eps and >= measured (150 sequences)",
            lambda rep_name=rep_name, n=n, eps=eps: api("ka_prefixes")(
                kat(n), api(rep_name)(n), eps=eps
            ),
            Check(
                transformer_guarantee(
                    lambda n=n: kat(n),
                    lambda x, rep_name=rep_name, n=n: api(rep_name)(n)(x),
                    n,
                    eps,
                )
            ),
        )

    def false_rep() -> object:
        rep = api("ka_times_mean")(1)
        small = {q: 1e-6 for q in rep.terms}
        return _replace(rep, inner_lipschitz=small, outer_lipschitz=small)

    probe(
        "ka_prefixes.false-constants",
        name,
        "a representation whose Lipschitz constants are 1e-6: refused, or guarantee holds",
        lambda: api("ka_prefixes")(kat(1), false_rep(), eps=0.2),
        Error(
            ("representation", "lipschitz", "constant"),
            otherwise=transformer_guarantee(kat, times_mean_target, 1, 0.2),
        ),
    )

    def false_range() -> object:
        rep = api("ka_times_mean")(1)  # x^2 as ((2x)^2 - 0^2) / 4: means in [0, 2] and [0, 0]
        return _replace(
            rep,
            mean_range={0: (0.9, 1.1), 1: (-0.1, 0.1)},
            inner_range={0: (0.9, 1.1), 1: (-0.1, 0.1)},
        )

    probe(
        "ka_prefixes.false-ranges",
        name,
        "a representation whose mean ranges are too narrow: refused, or guarantee holds",
        lambda: api("ka_prefixes")(kat(1), false_range(), eps=0.2),
        Error(
            ("representation", "range"),
            otherwise=transformer_guarantee(kat, times_mean_target, 1, 0.2),
        ),
    )
    probe(
        "ka_prefixes.nan-constant",
        name,
        "a representation with a NaN Lipschitz constant",
        lambda: api("ka_prefixes")(
            kat(1),
            _replace(api("ka_centering")(1), outer_lipschitz={0: NAN, 1: 1.0}),
            eps=0.5,
        ),
        Error(("representation", "outer_lipschitz")),
    )
    probe(
        "ka_prefixes.wrong-n",
        name,
        "a representation for n = 2 on a model for n = 1",
        lambda: api("ka_prefixes")(kat(1), api("ka_centering")(2), eps=0.5),
        Error(("representation", "n =")),
    )
    probe(
        "ka_prefixes.not-representation",
        name,
        "a function instead of a KARepresentation",
        lambda: api("ka_prefixes")(kat(1), mix_target, eps=0.5),
        Error(("representation",)),
    )
    probe(
        "ka_prefixes.wrong-route",
        name,
        "a gather model",
        lambda: api("ka_prefixes")(api("gather_transformer")(1), api("ka_centering")(1), eps=0.5),
        Error(("model", "route")),
    )

    def centering_at(n: int, x: torch.Tensor) -> torch.Tensor:
        return (x - x.mean(1, keepdim=True))[..., None]

    probe(
        "ka_prefixes.dropped-term",
        name,
        "ka_centering(2) with term 2 dropped (target unchanged): refused, or guarantee holds",
        lambda: api("ka_prefixes")(kat(2), _replace(api("ka_centering")(2), terms=(0, 1)), eps=0.3),
        Error(
            ("represent", "target"),
            otherwise=transformer_guarantee(lambda: kat(2), lambda x: centering_at(2, x), 2, 0.3),
        ),
    )
    probe(
        "ka_prefixes.inner-shape",
        name,
        "inner returning (B, 1) instead of (B,): refused naming inner and the shape",
        lambda: api("ka_prefixes")(
            kat(2), _replace(api("ka_centering")(2), inner=lambda x, p, q: x[:, None]), eps=0.3
        ),
        Error(("inner(",)),
    )
    probe(
        "ka_prefixes.outer-shape",
        name,
        "outer returning (B,) instead of (B, k): refused naming outer and the shape",
        lambda: api("ka_prefixes")(
            kat(2), _replace(api("ka_centering")(2), outer=lambda z, j, q: z), eps=0.3
        ),
        Error(("outer(",)),
    )
    bad_param_family(
        "ka_prefixes",
        name,
        "eps",
        "pos_float",
        lambda v: api("ka_prefixes")(kat(1), api("ka_centering")(1), eps=v),
        only=("zero", "negative", "nan", "inf", "bool", "str", "huge-int"),
    )

    name = "gather_prefixes"

    def gat(n: int = 2) -> object:
        return api("gather_transformer")(n)

    def gp(target: Callable = times_mean_target, n: int = 2, **kw: object) -> object:
        args = {"lipschitz": 1.6, "eps": 0.15, **kw}
        return api("gather_prefixes")(gat(n), target, **args)

    probe(
        "gather_prefixes.times-mean",
        name,
        "x_j mean(x) on n = 2 at eps 0.15: guarantee <= eps and >= measured",
        gp,
        Check(transformer_guarantee(gat, times_mean_target, 2, 0.15)),
    )
    probe(
        "gather_prefixes.false-lipschitz-0",
        name,
        "lipschitz = 0 on x_j mean(x): refused, or guarantee holds",
        lambda: gp(lipschitz=0.0),
        Error(
            ("lipschitz", "target is not", "constant"),
            otherwise=transformer_guarantee(gat, times_mean_target, 2, 0.15),
        ),
    )
    probe(
        "gather_prefixes.runaway-n4-eps-1e-3",
        name,
        "gather_transformer(4) at eps 1e-3 (a clear refusal naming the size is a clear error)",
        lambda: gp(n=4, eps=1e-3),
        Error(SIZE_WORDS, size=True),
    )
    probe(
        "gather_prefixes.target-wrong-shape",
        name,
        "target returning (B, n)",
        lambda: gp(lambda x: x),
        Error(("target",)),
    )
    probe(
        "gather_prefixes.target-not-callable",
        name,
        "target = 1",
        lambda: gp(1),
        Error(("target",)),
    )
    probe(
        "gather_prefixes.wrong-route",
        name,
        "a mixing model",
        lambda: api("gather_prefixes")(
            api("mixing_transformer")(2), times_mean_target, lipschitz=1.0, eps=0.1
        ),
        Error(("model", "route")),
    )
    probe(
        "gather_prefixes.wrong-n",
        name,
        "prefixes for n = 2 run on gather_transformer(3)",
        lambda: gat(3)(np.full((1, 3), 0.5), gp()),
        Error(("prefix", "layer", "n =", "built for")),
    )
    for param, kind in (("lipschitz", "nonneg_float"), ("eps", "pos_float")):
        bad_param_family(
            "gather_prefixes",
            name,
            param,
            kind,
            lambda v, param=param: gp(**{param: v}),
            only=("negative", "nan", "inf", "bool", "str", "huge-int"),
        )

    name = "gather_prefix_length"
    probe(
        "gather_prefix_length.matches-builder",
        name,
        "equals gather_prefixes(...).total_tokens",
        lambda: (api("gather_prefix_length")(2, lipschitz=1.6, eps=0.15), gp().total_tokens),
        Check(lambda r: (r[0] == r[1], f"{r}")),
    )
    probe(
        "gather_prefix_length.huge",
        name,
        "n = 20 at eps 1e-6: an exact int (no overflow)",
        lambda: api("gather_prefix_length")(20, lipschitz=1.0, eps=1e-6),
        Check(lambda r: (isinstance(r, int) and r > 10**100, f"{str(r)[:40]}")),
    )
    probe(
        "gather_prefix_length.n-1e6",
        name,
        "n = 10^6 at eps 1e-3: a quick answer or a refusal naming the size (no giant integer)",
        lambda: api("gather_prefix_length")(10**6, lipschitz=1.0, eps=1e-3) > 0,
        Error(SIZE_WORDS, size=True),
    )
    for builder, n in (("ka_transformer", 2000), ("gather_transformer", 10**5)):
        probe(
            f"{builder}.weights-n{n}",
            builder,
            f"n = {n}: weights estimated before allocation, refused with the size",
            lambda builder=builder, n=n: api(builder)(n).depth,
            Error(("weights", "max_weights"), size=True),
        )
    for param, kind in (("n", "pos_int"), ("lipschitz", "nonneg_float"), ("eps", "pos_float")):
        args = {"n": 2, "lipschitz": 1.0, "eps": 0.1}
        bad_param_family(
            "gather_prefix_length",
            name,
            param,
            kind,
            lambda v, param=param, args=args: api("gather_prefix_length")(**{**args, param: v}),
            only=("zero", "negative", "nan", "bool", "str", "huge-int"),
        )

    name = "mixing_prefixes"

    def mix(n: int = 2) -> object:
        return api("mixing_transformer")(n)

    def mp_(n: int = 2, **kw: object) -> object:
        args = {"lipschitz": 1.5, "eps": 0.1, **kw}
        return api("mixing_prefixes")(
            mix(n), kw.pop("apply", mix_apply), **{k: v for k, v in args.items() if k != "apply"}
        )

    probe(
        "mixing_prefixes.centering",
        name,
        "x_j - mean on n = 2 at eps 0.1: guarantee <= eps and >= measured",
        mp_,
        Check(transformer_guarantee(mix, mix_target, 2, 0.1)),
    )
    probe(
        "mixing_prefixes.n2-on-n3",
        name,
        "prefixes built for mixing_transformer(2) run on mixing_transformer(3): refused",
        lambda: mix(3)(np.array([[0.1, 0.5, 0.9], [0.8, 0.2, 0.4]]), mp_()),
        Error(("prefix", "n =", "n=", "built for", "sequences of", "positions")),
    )
    probe(
        "mixing_prefixes.false-lipschitz-0",
        name,
        "lipschitz = 0 on x_j - mean: refused, or guarantee holds",
        lambda: mp_(lipschitz=0.0),
        Error(
            ("lipschitz", "apply is not", "constant"),
            otherwise=transformer_guarantee(mix, mix_target, 2, 0.1),
        ),
    )
    probe(
        "mixing_prefixes.apply-wrong-shape",
        name,
        "apply returning (B,)",
        lambda: api("mixing_prefixes")(mix(), lambda a, b, j: a - b, lipschitz=1.5, eps=0.1),
        Error(("apply",)),
    )
    probe(
        "mixing_prefixes.apply-not-callable",
        name,
        "apply = None",
        lambda: api("mixing_prefixes")(mix(), None, lipschitz=1.5, eps=0.1),
        Error(("apply",)),
    )
    probe(
        "mixing_prefixes.wrong-route",
        name,
        "a gather model",
        lambda: api("mixing_prefixes")(gat(2), mix_apply, lipschitz=1.5, eps=0.1),
        Error(("model", "route")),
    )
    for param, kind in (("lipschitz", "nonneg_float"), ("eps", "pos_float")):
        bad_param_family(
            "mixing_prefixes",
            name,
            param,
            kind,
            lambda v, param=param: mp_(**{param: v}),
            only=("negative", "nan", "inf", "bool", "str", "huge-int", "zero"),
        )

    name = "PrefixedTransformer"
    x = np.full((2, 2), 0.5)

    def blank(n: int = 2) -> list:
        return mix(n).blank_prefixes()

    for label, (xs, prefixes, names) in {
        "x-above-1": (np.full((2, 2), 1.5), None, ("x",)),
        "x-nan": (np.full((2, 2), NAN), None, ("x",)),
        "x-wrong-n": (np.full((2, 3), 0.5), None, ("x",)),
        "x-1-d": (np.full(2, 0.5), None, ("x",)),
        "prefixes-count": (x, [None], ("prefix", "layer")),
        "prefixes-tensor": (x, torch.zeros((2, 3)), ("prefixes",)),
        "prefixes-none": (x, "none", ("prefixes",)),
        "prefix-width": (x, [None, np.ones((3, 4))], ("prefix",)),
        "prefix-nan": (x, [None, np.full((3, 14), NAN)], ("prefix",)),
        "prefix-str": (x, [None, "tokens"], ("prefix",)),
    }.items():
        probe(
            f"PrefixedTransformer.{label}",
            name,
            label,
            lambda xs=xs, prefixes=prefixes: (
                mix()(
                    xs, blank() if prefixes is None else (None if prefixes == "none" else prefixes)
                )
                if not isinstance(prefixes, torch.Tensor)
                else mix()(xs, prefixes)
            ),
            Error(names),
        )
    probe(
        "PrefixedTransformer.prefixes-string",
        name,
        "prefixes = 'abc' (a string is a sequence of 3)",
        lambda: mix()(x, "abc"),
        Error(("TransformerPrefixes or a sequence", "str")),
    )

    def tokens_holds(r: object) -> tuple[bool, str]:
        out, prefixes, xs = r
        measured = float((out - torch.as_tensor(mix_target(torch.as_tensor(xs)))).abs().max())
        return (
            measured <= prefixes.guaranteed,
            f"measured {measured:.3g}, {prefixes.guaranteed:.3g}",
        )

    xs3 = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.1, 0.5, 0.9]])
    probe(
        "PrefixedTransformer.raw-tokens-other-n",
        name,
        "tokens of mixing_prefixes for n = 2 passed raw to mixing_transformer(3): refused",
        lambda: (lambda p: (mix(3)(xs3, p.tokens), p, xs3))(mp_()),
        Error(("built",), otherwise=tokens_holds),
    )
    probe(
        "PrefixedTransformer.replaced-n-none",
        name,
        "mixing prefixes for n = 2 with n replaced by None, run on n = 3: refused",
        lambda: (lambda p: (mix(3)(xs3, p), p, xs3))(_replace(mp_(), n=None)),
        Error(("TransformerPrefixes", "n must"), otherwise=tokens_holds),
    )
    probe(
        "PrefixedTransformer.other-route",
        name,
        "gather prefixes on a mixing model",
        lambda: mix()(x, gp()),
        Error(("route", "prefixes")),
    )
    probe(
        "PrefixedTransformer.empty-batch",
        name,
        "0 sequences: (0, n, k) (or a clear error)",
        lambda: mix()(np.zeros((0, 2)), mp_()),
        Error(("x",), otherwise=lambda r: (tuple(r.shape) == (0, 2, 1), f"{tuple(r.shape)}")),
    )
    probe(
        "PrefixedTransformer.slot-unknown",
        name,
        "slot('nope')",
        lambda: mix().slot(torch.zeros((1, 2, mix().d_model)), "nope"),
        Error(("slot",)),
    )
    probe(
        "PrefixedTransformer.trace",
        name,
        "trace has depth + 1 states",
        lambda: (mix().depth, mix().trace(x, blank())),
        Check(lambda r: len(r[1]) == r[0] + 1),
    )
    probe(
        "PrefixedTransformer.float32-prefix",
        name,
        "float32 prefix tokens: same as their float64 value",
        lambda: (
            mix()(x, [None, mp_().tokens[1].float()]),
            mix()(x, [None, mp_().tokens[1].float().double()]),
        ),
        Check(lambda r: compare(r[0], r[1], 1e-12, 1e-13)),
    )

    def grad_mix(leaf: torch.Tensor) -> torch.Tensor:
        return mix()(np.array([[0.2, 0.7], [0.9, 0.4]]), [None, leaf])

    probe(
        "PrefixedTransformer.grad.prefix",
        name,
        "a prefix tensor with requires_grad: backward vs central finite differences",
        lambda: fd_gradient_check(grad_mix, mp_().tokens[1][:60].clone().requires_grad_(True), 6),
        Check(lambda r: r),
    )
    probe(
        "TransformerPrefixes.total_tokens",
        "TransformerPrefixes",
        "total_tokens is the sum over layers; route and eps recorded",
        mp_,
        Check(
            lambda r: (
                r.total_tokens == sum(0 if t is None else t.shape[0] for t in r.tokens)
                and r.route == "mixing"
                and r.eps == 0.1
            )
        ),
    )
    x2 = np.array([[0.0, 1.0], [1.0, 0.0], [0.3, 0.6]])

    def run_and_read(prefixes: object) -> tuple[object, float]:
        return mix()(x2, prefixes), prefixes.guaranteed

    def guarantee_of_tokens(r: object) -> tuple[bool, str]:
        measured = float((r[0] - mix_target(torch.as_tensor(x2))).abs().max())
        return measured <= r[1], f"measured {measured:.3g}, guaranteed {r[1]:.3g}"

    probe(
        "TransformerPrefixes.replaced-tokens",
        "TransformerPrefixes",
        "dataclasses.replace keeps the guarantee but drops all but 10 tokens: refused",
        lambda: run_and_read((lambda p: _replace(p, tokens=(None, p.tokens[1][:10])))(mp_())),
        Error(("TransformerPrefixes", "fingerprint"), otherwise=guarantee_of_tokens),
    )

    def edited_in_place() -> object:
        prefixes = mp_()
        prefixes.tokens[1][:, -1] = 0.0  # every value entry zeroed
        return run_and_read(prefixes)

    probe(
        "TransformerPrefixes.edited-in-place",
        "TransformerPrefixes",
        "token values zeroed in place, then the model run and the guarantee read: refused",
        edited_in_place,
        Error(("changed in place",), otherwise=guarantee_of_tokens),
    )
    probe(
        "HeadPrefixReport.replaced",
        "HeadPrefixReport",
        "dataclasses.replace(report, n_tokens=3): refused (the report no longer describes its "
        "prefix)",
        lambda: _replace(mp_().reports[0], n_tokens=3),
        Error(("HeadPrefixReport",), otherwise=lambda r: (r.n_tokens != 3, f"{r.n_tokens}")),
    )
    probe(
        "key_writing_prefixes.eps-1e-308",
        "key_writing_prefixes",
        "eps = 1e-308: refused, or finite tokens with a guarantee that holds",
        lambda: (
            api("key_writing_prefixes")(api("key_writing_transformer")(3), eps=1e-308),
            api("key_writing_transformer")(3),
        ),
        Error(
            ("eps",),
            otherwise=lambda r: (
                all(t is None or bool(torch.isfinite(t).all()) for t in r[0].tokens)
                and r[0].guaranteed > 0,
                f"guaranteed {r[0].guaranteed}",
            ),
        ),
    )
    probe(
        "HeadPrefixReport.guaranteed",
        "HeadPrefixReport",
        "every report's guaranteed error is at most its tolerance",
        lambda: api("ka_prefixes")(kat(1), api("ka_centering")(1), eps=0.5).reports,
        Check(
            lambda reports: (
                len(reports) > 0
                and all(r.guaranteed <= r.tolerance * (1 + 1e-12) for r in reports),
                f"{[(r.layer, r.guaranteed, r.tolerance) for r in reports][:3]}",
            )
        ),
    )


# ------------------------------------------------------- reproducibility, plotting, catalogue
def with_print_options(call: Callable[[], object]) -> Callable[[], object]:
    """Run `call`, report the NumPy print precision, torch's default dtype and thread count it
    left, then restore NumPy's print options and torch's default dtype."""

    def wrapped() -> object:
        saved, dtype = np.get_printoptions(), torch.get_default_dtype()
        try:
            call()
            return (
                np.get_printoptions()["precision"],
                torch.get_default_dtype(),
                torch.get_num_threads(),
            )
        finally:
            np.set_printoptions(**saved)
            torch.set_default_dtype(dtype)

    return wrapped


TINY_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "a1",
            "metadata": {},
            "outputs": [],
            "source": ["1 + 1"],
        }
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def tiny_notebook() -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="api_probes_"))
    path = folder / "tiny.ipynb"
    path.write_text(json.dumps(TINY_NOTEBOOK))
    return path


@family
def reproducibility_probes() -> None:
    name = "set_deterministic_defaults"

    def sdd(**kw: object) -> Callable[[], object]:
        return with_print_options(lambda: api("set_deterministic_defaults")(**kw))

    probe(
        "set_deterministic_defaults.print_digits=-1",
        name,
        "print_digits = -1 (print options restored in the child anyway)",
        sdd(print_digits=-1),
        Error(("print_digits",)),
    )
    for label, value in {
        "zero": 0,
        "18": 18,
        "bool": True,
        "float": 6.5,
        "str": "6",
        "huge-int": HUGE_INT,
        "none": None,
        "nan": NAN,
    }.items():
        probe(
            f"set_deterministic_defaults.print_digits={label}",
            name,
            f"print_digits = {value!r:.20}",
            sdd(print_digits=value),
            Error(("print_digits",)),
        )
    probe(
        "set_deterministic_defaults.valid",
        name,
        "print_digits = 8: NumPy precision 8, float64 default dtype, one thread",
        sdd(print_digits=8),
        Check(lambda r: (r == (8, torch.float64, 1), f"{r}")),
    )

    name = "package_versions"

    def pv(names: object) -> object:
        return api("package_versions")(names)

    probe(
        "package_versions.numpy",
        name,
        "['numpy', 'torch']: their installed versions",
        lambda: pv(["numpy", "torch"]),
        Check(
            lambda r: (
                r == {"numpy": np.__version__, "torch": torch.__version__.split("+")[0]}
                or r == {"numpy": np.__version__, "torch": torch.__version__},
                f"{r}",
            )
        ),
    )
    probe(
        "package_versions.missing",
        name,
        "a distribution that is not installed",
        lambda: pv(("no-such-distribution-xyz",)),
        Value(
            None, get=lambda r: None if r == {"no-such-distribution-xyz": "not installed"} else r
        ),
    )
    probe(
        "package_versions.empty",
        name,
        "[]: {}",
        lambda: pv([]),
        Check(lambda r: r == {}),
    )
    for label, value in {
        "generator": (n for n in ["numpy"]),
        "str": "numpy",
        "none": None,
        "int-item": [1],
        "dict": {"numpy": 1},
        "set": {"numpy"},
        "bytes-item": [b"numpy"],
    }.items():
        probe(
            f"package_versions.names-{label}",
            name,
            f"names = {label}",
            lambda value=value: pv(value),
            Error(("names",)),
        )
    probe(
        "package_versions.empty-name",
        name,
        "['']: 'not installed' or a clear error naming names",
        lambda: pv([""]),
        Error(("names",), otherwise=lambda r: r == {"": "not installed"}),
    )

    name = "peak_memory_mib"
    probe(
        "peak_memory_mib.self",
        name,
        "this process: a positive number of MiB (at least its current RSS)",
        lambda: (
            api("peak_memory_mib")(os.getpid()),
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        ),
        Check(lambda r: (r[0] is not None and r[0] > 10 and r[0] >= 0.5 * r[1], f"{r}")),
    )
    probe(
        "peak_memory_mib.gone",
        name,
        "a pid that does not exist: None",
        lambda: api("peak_memory_mib")(2**22 + 12345),
        Check(lambda r: r is None),
    )
    for label, value in {
        "zero": 0,
        "negative": -1,
        "bool": True,
        "str": "1",
        "float": 1.5,
        "none": None,
        "huge-int": HUGE_INT,
    }.items():
        probe(
            f"peak_memory_mib.pid={label}",
            name,
            f"pid = {value!r:.20}",
            lambda value=value: api("peak_memory_mib")(value),
            Error(("pid",), otherwise=(lambda r: r is None) if label == "huge-int" else None),
        )

    name = "execute_and_measure"
    probe(
        "execute_and_measure.tiny",
        name,
        "a one-cell notebook: NotebookRun with seconds >= 0 and a peak memory",
        lambda: api("execute_and_measure")(tiny_notebook(), timeout=120),
        Check(
            lambda r: (
                isinstance(r, api("NotebookRun"))
                and r.name == "tiny"
                and r.seconds >= 0
                and (r.peak_mib is None or r.peak_mib > 0),
                f"{r}",
            )
        ),
    )
    for label, value in {
        "missing": "/nonexistent/x.ipynb",
        "txt": __file__,
        "int": 5,
        "none": None,
        "folder": "/tmp",
    }.items():
        probe(
            f"execute_and_measure.path-{label}",
            name,
            f"path = {value!r}",
            lambda value=value: api("execute_and_measure")(value),
            Error(("path",)),
        )
    for label, value in {"str": "soon", "negative": -5, "bool": True, "nan": NAN}.items():
        probe(
            f"execute_and_measure.timeout={label}",
            name,
            f"timeout = {value!r} on a valid notebook",
            lambda value=value: api("execute_and_measure")(tiny_notebook(), timeout=value),
            Error(("timeout",)),
        )
    probe(
        "NotebookRun.fields",
        "NotebookRun",
        "a NotebookRun holds name, seconds and peak_mib",
        lambda: api("NotebookRun")("x", 1.5, None),
        Check(lambda r: (r.name, r.seconds, r.peak_mib) == ("x", 1.5, None)),
    )

    name = "figure_size"
    for (rows, cols, height), want in {
        (1, 1, 3.2): (6.4, 3.2),
        (2, 2, 3.2): (6.4, 5.44),
        (3, 1, 2.0): (6.4, 6.0),
        (1, 2, 1.0): (6.4, 0.85),
    }.items():
        probe(
            f"figure_size.{rows}x{cols}-h{height:g}",
            name,
            f"figure_size({rows}, {cols}, panel_height={height}) = {want}",
            lambda rows=rows, cols=cols, height=height: api("figure_size")(
                rows, cols, panel_height=height
            ),
            Check(lambda r, want=want: (tuple(r) == want, f"{r}")),
        )
    probe(
        "figure_size.cols=3",
        name,
        "three panels side by side",
        lambda: api("figure_size")(1, 3),
        Error(("cols",)),
    )
    for param in ("rows", "cols"):
        for label, value in {
            "zero": 0,
            "negative": -2,
            "bool": True,
            "float": 1.0,
            "str": "1",
            "none": None,
            "huge-int": HUGE_INT,
        }.items():
            if param == "cols" and label == "huge-int":
                continue
            probe(
                f"figure_size.{param}={label}",
                name,
                f"{param} = {value!r:.20}",
                lambda param=param, value=value: api("figure_size")(
                    **{"rows": 1, "cols": 1, param: value}
                ),
                Error((param,)),
            )
    for label, value in {
        "zero": 0.0,
        "negative": -1.0,
        "nan": NAN,
        "inf": INF,
        "str": "3",
        "bool": True,
        "none": None,
        "huge-int": HUGE_INT,
    }.items():
        probe(
            f"figure_size.panel_height={label}",
            name,
            f"panel_height = {value!r:.20}",
            lambda value=value: api("figure_size")(1, 1, panel_height=value),
            Error(("panel_height",)),
        )

    name = "use_book_style"

    def style() -> object:
        import importlib

        import matplotlib as mpl

        api("use_book_style")()
        api("use_book_style")()
        wanted = importlib.import_module("prefix_approx.plotting").BOOK_STYLE
        return {key: (mpl.rcParams[key], value) for key, value in wanted.items()}

    def same(pairs: dict) -> tuple[bool, str]:
        bad = {
            k: v for k, v in pairs.items() if list(np.atleast_1d(v[0])) != list(np.atleast_1d(v[1]))
        }
        return not bad, f"rcParams differing from BOOK_STYLE: {bad}" if bad else "all applied"

    probe(
        "use_book_style.applies",
        "use_book_style",
        "applies every entry of plotting.BOOK_STYLE, idempotently",
        style,
        Check(same),
    )

    name = "public_objects"

    def every_public(objs: object) -> tuple[bool, str]:
        import inspect

        listed = {o.name.split(".")[-1] for o in objs}
        wanted = {
            n
            for n in pa.__all__
            if inspect.isclass(getattr(pa, n)) or inspect.isfunction(getattr(pa, n))
        }
        missing = sorted(wanted - listed)
        unused = sorted(o.name for o in objs if not getattr(o, "has_used_in", o.used_in))
        return not missing and not unused, f"missing {missing[:5]}, without 'Used in' {unused[:5]}"

    probe(
        "public_objects.complete",
        name,
        "every public class and function is listed, each with its chapters",
        lambda: api("public_objects")(),
        Check(every_public),
    )
    probe(
        "PublicObject.fields",
        "PublicObject",
        "public_objects returns PublicObject records with a summary",
        lambda: api("public_objects")(),
        Check(lambda r: all(isinstance(o, api("PublicObject")) and o.summary for o in r)),
    )


@family
def record_probes() -> None:
    """The result dataclasses are checked where they are produced; a few direct checks."""
    probe(
        "DensityParameters.from-density_parameters",
        "DensityParameters",
        "density_parameters returns a DensityParameters with split 2 delta data",
        lambda: api("density_parameters")(
            eps=0.1, near_error=0.0, delta=0.1, bound=1.0, n_points=50, radius=0.09, max_len=4
        ),
        Check(
            lambda r: (
                isinstance(r, api("DensityParameters"))
                and r.n_points == 50
                and r.guaranteed <= r.eps
            )
        ),
    )
    probe(
        "SmoothParameters.from-smooth_circle_parameters",
        "SmoothParameters",
        "smooth_circle_parameters returns a SmoothParameters with guaranteed <= eps",
        lambda: api("smooth_circle_parameters")([0.0, 1.0], eps=0.05, max_len=2, bound=1.0),
        Check(lambda r: isinstance(r, api("SmoothParameters")) and r.guaranteed <= r.eps),
    )
    probe(
        "CorePrefix.build_prefix-parameters",
        "CorePrefix",
        "build_prefix's CorePrefix records max_len and its DensityParameters",
        lambda: api("build_prefix")(
            _theta_target(torch.cos), m=1, eps=0.3, bound=1.0, max_len=3, lipschitz=1.0
        ),
        Check(
            lambda r: (
                r.max_len == 3
                and isinstance(r.parameters, api("DensityParameters"))
                and r.guaranteed == r.parameters.guaranteed
            )
        ),
    )


# ------------------------------------------------- sizes, budgets and targets (newer API)
def mp_exp_sin_norms(n_max: int) -> tuple[np.ndarray, float]:
    """a_0 = I_0(1), a_n = 2 I_n(1) and the exact sup of the tail, sum_{n > n_max} 2 I_n(1)."""
    with mpmath.workdps(40):
        norms = [mpmath.besseli(0, 1)] + [2 * mpmath.besseli(n, 1) for n in range(1, n_max + 1)]
        tail = mpmath.nsum(lambda n: 2 * mpmath.besseli(int(n), 1), [n_max + 1, mpmath.inf])
        return np.array([float(v) for v in norms]), float(tail)


@family
def size_probes() -> None:
    name = "cubed_sphere_size"
    for m, cells in ((2, 3), (1, 4), (5, 7), (20, 10**6)):
        probe(
            f"cubed_sphere_size.m={m}-cells={cells}",
            name,
            f"2 (m+1) c^m at m = {m}, c = {cells} (exact int)",
            lambda m=m, cells=cells: api("cubed_sphere_size")(m, cells),
            Check(
                lambda r, m=m, cells=cells: (
                    type(r) is int and r == 2 * (m + 1) * cells**m,
                    str(r)[:40],
                )
            ),
        )
    probe(
        "cubed_sphere_size.matches-net",
        name,
        "equals len(cubed_sphere_net(3, 2))",
        lambda: (api("cubed_sphere_size")(3, 2), len(api("cubed_sphere_net")(3, 2))),
        Check(lambda r: (r[0] == r[1], f"{r}")),
    )
    bad_param_family(
        "cubed_sphere_size",
        name,
        "cells_per_edge",
        "pos_int",
        lambda v: api("cubed_sphere_size")(2, v),
        only=("zero", "negative", "bool", "float", "str"),
    )
    bad_param_family(
        "cubed_sphere_size",
        name,
        "m",
        "pos_int",
        lambda v: api("cubed_sphere_size")(v, 2),
        only=("zero", "negative", "bool", "float", "str"),
    )

    name = "delta_net_size_bound"
    for m, delta in ((1, 0.1), (2, 0.3), (3, 0.6), (2, PI / 4), (4, 0.9)):
        probe(
            f"delta_net_size_bound.m={m}-delta={delta:g}",
            name,
            "at least len(delta_net(m, delta))",
            lambda m=m, delta=delta: (
                api("delta_net_size_bound")(m, delta),
                len(api("delta_net")(m, delta)),
            ),
            Check(lambda r: (isinstance(r[0], int) and r[0] >= r[1], f"bound {r[0]}, net {r[1]}")),
        )
    probe(
        "delta_net_size_bound.delta-pi",
        name,
        "delta >= pi: 1",
        lambda: api("delta_net_size_bound")(4, 3.5),
        Check(lambda r: r == 1),
    )
    probe(
        "delta_net_size_bound.S20",
        name,
        "S^20 at delta 0.1: a huge exact int, no overflow",
        lambda: api("delta_net_size_bound")(20, 0.1),
        Check(lambda r: (isinstance(r, int) and r > 10**20, str(r)[:40])),
    )
    bad_param_family(
        "delta_net_size_bound",
        name,
        "delta",
        "pos_float",
        lambda v: api("delta_net_size_bound")(2, v),
        only=("zero", "negative", "nan", "bool", "str", "huge-int"),
    )

    name = "lipschitz_prefix_length_bound"
    cos = _theta_target(torch.cos)

    def s2(z: torch.Tensor) -> torch.Tensor:
        return z[:, :1] * z[:, 2:3]

    for m, f, eps in ((1, cos, 0.2), (2, s2, 0.4), (1, cos, 0.01)):
        probe(
            f"lipschitz_prefix_length_bound.m={m}-eps={eps:g}",
            name,
            "at least len(build_prefix(...)) for the same m, eps, L",
            lambda m=m, f=f, eps=eps: (
                api("lipschitz_prefix_length_bound")(m, eps=eps, lipschitz=1.0),
                len(api("build_prefix")(f, m=m, eps=eps, bound=1.0, max_len=2, lipschitz=1.0)),
            ),
            Check(
                lambda r: (isinstance(r[0], int) and r[0] >= r[1], f"bound {r[0]}, built {r[1]}")
            ),
        )
    for param, kind in (("eps", "pos_float"), ("lipschitz", "nonneg_float")):
        bad_param_family(
            "lipschitz_prefix_length_bound",
            name,
            param,
            kind,
            lambda v, param=param: api("lipschitz_prefix_length_bound")(
                2, **{"eps": 0.1, "lipschitz": 1.0, param: v}
            ),
            only=("negative", "nan", "bool", "str", "huge-int"),
        )

    name = "exp_sin_fourier_norms"
    for n_max in (1, 10, 40):
        probe(
            f"exp_sin_fourier_norms.n_max={n_max}",
            name,
            "a_0 = I_0(1), a_n = 2 I_n(1) (mpmath), and the tail bound >= the true tail",
            lambda n_max=n_max: api("exp_sin_fourier_norms")(n_max),
            Check(
                lambda r, n_max=n_max: (
                    compare(r[0], mp_exp_sin_norms(n_max)[0], 1e-13, 1e-300)[0]
                    and r[1] >= mp_exp_sin_norms(n_max)[1],
                    f"tail bound {r[1]:.3g} vs true {mp_exp_sin_norms(n_max)[1]:.3g}",
                )
            ),
        )
    bad_param_family(
        "exp_sin_fourier_norms",
        name,
        "n_max",
        "pos_int",
        lambda v: api("exp_sin_fourier_norms")(v),
        only=("zero", "negative", "bool", "float", "str", "huge-int"),
    )

    # Budgets (max_tokens, max_points): a refusal must name the budget.
    probe(
        "build_prefix.max_tokens-10",
        "build_prefix",
        "cos on S^1 at eps 0.01 with max_tokens=10: refused",
        lambda: api("build_prefix")(
            cos, m=1, eps=0.01, bound=1.0, max_len=2, lipschitz=1.0, max_tokens=10
        ),
        Error(("max_tokens",)),
    )
    probe(
        "delta_net.max_points-10",
        "delta_net",
        "delta_net(2, 0.1, max_points=10): refused",
        lambda: api("delta_net")(2, 0.1, max_points=10),
        Error(("max_points",)),
    )
    probe(
        "cubed_sphere_net.max_points-10",
        "cubed_sphere_net",
        "cubed_sphere_net(2, 5, max_points=10): refused",
        lambda: api("cubed_sphere_net")(2, 5, max_points=10),
        Error(("max_points",)),
    )
    probe(
        "gather_prefixes.max_tokens-10",
        "gather_prefixes",
        "gather prefixes at eps 0.15 with max_tokens=10: refused",
        lambda: api("gather_prefixes")(
            api("gather_transformer")(2), times_mean_target, lipschitz=1.6, eps=0.15, max_tokens=10
        ),
        Error(("max_tokens",)),
    )
    probe(
        "smooth_circle_error_bound.tail_bound",
        "smooth_circle_error_bound",
        "a tail bound raises the bound (monotone)",
        lambda: (
            api("smooth_circle_error_bound")(
                [0.0, 1.0], n_points=16, lam=8.0, max_len=4, bound=1.0, tail_bound=0.0
            ),
            api("smooth_circle_error_bound")(
                [0.0, 1.0], n_points=16, lam=8.0, max_len=4, bound=1.0, tail_bound=0.1
            ),
        ),
        Check(lambda r: (r[1] > r[0], f"{r}")),
    )


# ------------------------------------------------------------------------------ warm-up
def warm_up() -> None:
    """Run a few small calls in the parent before forking. torch (and mpmath) initialise
    kernels and import modules lazily, on first use: without this every forked child would
    repeat that work (about 0.7 s of CPU per probe). Nothing here changes global settings,
    and a call that fails (a name missing at this commit) is skipped."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3))
    q, ctx = rng.standard_normal((4, 3)), rng.standard_normal((6, 3))
    x = angles_points(np.array([0.3, 1.0, 2.0]))
    calls: list[Callable[[], object]] = [
        lambda: _head(w, w, w)(q, ctx, q[:4]),
        lambda: _head(w, w, w).dense(q, ctx, q, causal=True),
        lambda: _head(w, w, w).decompose(q, ctx, q, causal=True, block_elements=5),
        lambda: _head(w, w, w).attend(q, ctx).output,
        lambda: fd_gradient_check(
            lambda leaf: _head(w, w, w)(q, leaf, q), torch.tensor(ctx, requires_grad=True), 1
        ),
        lambda: api("merge_partial")(
            _partial(torch.zeros(1), torch.ones((1, 1))),
            _partial(torch.zeros(1), torch.ones((1, 1))),
        ),
        lambda: _core_head()(x[None], _core_prefix(x, x[:, :1], 2.0)),
        lambda: api("sup_error")(lambda z: z[:, :1], _core_prefix(x, x[:, :1], 2.0), x[:, None]),
        lambda: api("circle_fourier_norms")(lambda z: z[:, :1], n_samples=16),
        lambda: api("bessel_ratios")(10.0, 5),
        lambda: api("smooth_circle_error_bound")(
            [0.0, 1.0], n_points=8, lam=4.0, max_len=2, bound=1.0
        ),
        lambda: api("density_parameters")(
            eps=0.1, near_error=0.0, delta=0.1, bound=1.0, n_points=10, radius=0.09, max_len=2
        ),
        lambda: api("delta_net")(2, 0.8),
        lambda: api("nearest_point")(x, x, exclude=[1, 2, 0]),
        lambda: api("covering_radius")(x, samples=64),
        lambda: api("geodesic_distance")(x, x),
        lambda: api("cap_fraction")(3, 0.5),
        lambda: api("fibonacci_sphere")(5),
        lambda: api("random_sphere_points")(3, 2, seed=0),
        lambda: api("ka_times_mean")(2).evaluate([[0.2, 0.4]]),
        lambda: api("mixing_transformer")(2)(
            [[0.2, 0.4]], api("mixing_transformer")(2).blank_prefixes()
        ),
        lambda: (mpmath.besseli(2, 3.0), mpmath.betainc(2, 0.5, 0, 0.3, regularized=True)),
        lambda: np.linalg.norm(np.ones((2, 2)), axis=-1),
    ]
    for call in calls:
        with contextlib.suppress(Exception):  # a name or keyword missing at this commit
            call()


# ------------------------------------------------------------------------------- runner
def _child(p: Probe, fd: int) -> None:
    """In the forked child: limit memory, run the probe, write its record to `fd`."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
        signal.alarm(int(TIME_LIMIT_S) + 30)  # never outlive a parent that died
        torch.set_num_threads(1)
        record = run_in_child(p)
        data = json.dumps(record).encode()
    except BaseException as exc:  # pragma: no cover - the harness itself failed
        data = json.dumps(
            {
                "id": p.id,
                "name": p.name,
                "description": p.description,
                "outcome": UNCLEAR,
                "detail": f"harness failure: {_describe_exc(exc)}",
                "seconds": 0.0,
            }
        ).encode()
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.close(fd)
    os._exit(0)


def _finish(p: Probe, status: int, data: bytes, elapsed: float) -> dict:
    if data:
        try:
            return json.loads(data.decode())
        except ValueError:
            pass
    base = {"id": p.id, "name": p.name, "description": p.description, "seconds": elapsed}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGKILL:
            return {**base, "outcome": RUNAWAY, "detail": "child killed (SIGKILL: out of memory)"}
        return {**base, "outcome": UNCLEAR, "detail": f"child crashed with signal {sig}"}
    return {**base, "outcome": UNCLEAR, "detail": f"child exited ({status}) without a report"}


def run_probes(probes: list[Probe], jobs: int, progress: bool = True) -> list[dict]:
    """Run every probe in its own forked child, at most `jobs` at a time."""
    pending = list(probes)
    running: dict[int, tuple[Probe, int, float, bytearray]] = {}  # fd -> probe, pid, start, buf
    records: dict[str, dict] = {}
    done = 0
    while pending or running:
        while pending and len(running) < jobs:
            p = pending.pop(0)
            read_fd, write_fd = os.pipe()
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # child
                os.close(read_fd)
                _child(p, write_fd)
            os.close(write_fd)
            running[read_fd] = (p, pid, time.monotonic(), bytearray())
        now = time.monotonic()
        wait = max(0.0, min(start + TIME_LIMIT_S - now for _, _, start, _ in running.values()))
        ready, _, _ = select.select(list(running), [], [], min(wait, 1.0))
        for fd in ready:
            p, pid, start, buf = running[fd]
            chunk = os.read(fd, 65536)
            if chunk:
                buf.extend(chunk)
                continue
            os.close(fd)
            del running[fd]
            _, status = os.waitpid(pid, 0)
            records[p.id] = _finish(p, status, bytes(buf), round(time.monotonic() - start, 3))
            done += 1
        now = time.monotonic()
        for fd, (p, pid, start, _) in list(running.items()):
            if now - start > TIME_LIMIT_S:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                os.close(fd)
                del running[fd]
                records[p.id] = {
                    "id": p.id,
                    "name": p.name,
                    "description": p.description,
                    "outcome": RUNAWAY,
                    "detail": f"killed after {TIME_LIMIT_S:.0f} s",
                    "seconds": round(now - start, 3),
                }
                done += 1
        if progress:
            print(f"\r{done}/{len(probes)} probes", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return [records[p.id] for p in probes]


def report(records: list[dict]) -> str:
    """Counts per outcome and per public name, and every probe that is neither correct nor
    a clear error, with its detail."""
    lines = []
    totals = Counter(r["outcome"] for r in records)
    lines.append(f"{len(records)} probes")
    width = max(len(o) for o in OUTCOMES)
    for outcome in OUTCOMES:
        lines.append(f"  {outcome:<{width}}  {totals.get(outcome, 0)}")
    per_name: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        per_name[r["name"]][r["outcome"]] += 1
    name_width = max([len(n) for n in per_name] + [4])
    header = f"{'name':<{name_width}}  " + "  ".join(f"{o:>13}" for o in OUTCOMES)
    lines += ["", header, "-" * len(header)]
    for name in sorted(per_name, key=str.lower):
        counts = per_name[name]
        lines.append(
            f"{name:<{name_width}}  " + "  ".join(f"{counts.get(o, 0):>13}" for o in OUTCOMES)
        )
    bad = [r for r in records if r["outcome"] not in (CORRECT, CLEAR)]
    lines += ["", f"{len(bad)} probes neither correct nor a clear error:"]
    for r in sorted(bad, key=lambda r: (OUTCOMES.index(r["outcome"]), r["id"])):
        lines.append(f"  [{r['outcome']}] {r['id']}: {_short(r['detail'], 200)}")
    return "\n".join(lines)


@family
def newest_module_probes() -> None:
    """Deconvolution, spherical designs and prefixes on designs (chapters 7 and 8): the
    newcomer review's silent wrong answers, runaways and unclear errors, one probe each."""

    def angle(x: torch.Tensor) -> torch.Tensor:
        return torch.atan2(x[:, 1], x[:, 0])

    def measured_ok(f: Callable, prefix_call: Callable, m: int) -> Callable[[], object]:
        def run() -> object:
            prefix = prefix_call()
            if m == 1:
                x = api("circle_points")(4000, offset=1e-3)[:, None]
            else:
                x = api("random_sphere_points")(8000, m, seed=5)[:, None]
            return (api("sup_error")(f, prefix, x), prefix.guaranteed)

        return run

    def holds(result: object) -> tuple[bool, str]:
        measured, guaranteed = result  # type: ignore[misc]
        return (measured <= guaranteed, f"measured {measured:.3g} <= guaranteed {guaranteed:.3g}")

    def cos5(x: torch.Tensor) -> torch.Tensor:
        return (x[:, 0] + 0.5 * torch.cos(5 * angle(x)))[:, None]

    probe(
        "deconvolved_circle_prefix.false-tail",
        "deconvolved_circle_prefix",
        "stated norms [0, 1] and tail 0 for cos t + 0.5 cos 5t: refused (measured 0.5 before)",
        lambda: api("deconvolved_circle_prefix")(
            cos5, eps=1e-3, max_len=4, fourier_norms=[0.0, 1.0], tail_bound=0.0
        ),
        Error(("tail_bound", "fourier_norms")),
    )

    def tiny40(x: torch.Tensor) -> torch.Tensor:
        return (x[:, 0] + 9e-11 * torch.cos(40 * angle(x)))[:, None]

    probe(
        "deconvolved_circle_prefix.hidden-frequency",
        "deconvolved_circle_prefix",
        "bandwidth 1 with a 9e-11 cos 40t hidden: a guarantee that holds, or a refusal",
        measured_ok(
            tiny40,
            lambda: api("deconvolved_circle_prefix")(tiny40, eps=1e-9, max_len=1, bandwidth=1),
            1,
        ),
        Check(holds),
    )
    probe(
        "deconvolved_circle_prefix.exp-sin-holds",
        "deconvolved_circle_prefix",
        "e^{sin t} with exact norms, eps 1e-6: measured <= guaranteed",
        measured_ok(
            lambda x: torch.exp(x[:, 1:2]),
            lambda: api("deconvolved_circle_prefix")(
                lambda x: torch.exp(x[:, 1:2]),
                eps=1e-6,
                max_len=3,
                fourier_norms=api("exp_sin_fourier_norms")(40)[0],
                tail_bound=api("exp_sin_fourier_norms")(40)[1],
            ),
            1,
        ),
        Check(holds),
    )
    design_prefix = "design_prefix"
    probe(
        "design_prefix.false-norms",
        design_prefix,
        "harmonic_norms [0] for x_3: refused (measured 0.94 against 0.38 before)",
        lambda: api(design_prefix)(
            lambda x: x[:, 2:3], eps=0.9, bound=1.0, max_len=1, harmonic_norms=[0.0]
        ),
        Error(("harmonic_norms", "tail_bound")),
    )
    probe(
        "design_prefix.false-tail",
        design_prefix,
        "exp(3 x_3) with norms [1] and tail 0.1: refused (measured 17.4 against 9.8 before)",
        lambda: api(design_prefix)(
            lambda x: torch.exp(3 * x[:, 2:3]),
            eps=30.0,
            bound=25.0,
            max_len=1,
            harmonic_norms=[1.0],
            tail_bound=0.1,
        ),
        Error(("harmonic_norms", "tail_bound")),
    )

    def small_scale(x: torch.Tensor) -> torch.Tensor:
        z = x[:, 2]
        return (1e-6 * x[:, 0] + 1e-9 * (63 * z**5 - 70 * z**3 + 15 * z) / 8)[:, None]

    probe(
        "design_prefix.small-scale-degree",
        design_prefix,
        "a 1e-9 degree-5 part under bandwidth 1 at scale 1e-6: refused or a guarantee that holds",
        lambda: api(design_prefix)(
            small_scale, eps=8e-10, bound=1.1e-6, max_len=1, bandwidth=1, deconvolve=True
        ),
        Error(("bandwidth",), otherwise=lambda r: False),
    )
    probe(
        "design_prefix.honest-holds",
        design_prefix,
        "x_1 x_2 + x_3 with bandwidth 2, eps 0.3: measured <= guaranteed",
        measured_ok(
            lambda x: (x[:, 0] * x[:, 1] + x[:, 2])[:, None],
            lambda: api(design_prefix)(
                lambda x: (x[:, 0] * x[:, 1] + x[:, 2])[:, None],
                eps=0.3,
                bound=1.5,
                max_len=4,
                bandwidth=2,
            ),
            2,
        ),
        Check(holds),
    )
    for m in (1000, 10**9):
        probe(
            f"funk_hecke_ratios.m={m}",
            "funk_hecke_ratios",
            f"ratios at lam = 1 on S^{m}: finite, decreasing, in (0, 1] (NaN before)",
            lambda m=m: api("funk_hecke_ratios")(1.0, m, 3),
            Check(
                lambda r: (
                    bool(torch.isfinite(r).all() and (r > 0).all() and (r <= 1).all()),
                    str(r.tolist()),
                )
            ),
        )
    probe(
        "design_error_bound.lam=6e5",
        "design_error_bound",
        "lam above the real limit: an error naming lam",
        lambda: api("design_error_bound")(
            [1.0], m=2, strength=2, defect=0.0, lam=6e5, n_points=10, max_len=1, bound=1.0
        ),
        Error(("lam",)),
    )
    probe(
        "design_error_bound.bound=1e308",
        "design_error_bound",
        "bound 1e308 with max_len 1e6: inf (no guarantee) or a clear error, not OverflowError",
        lambda: api("design_error_bound")(
            [1.0], m=2, strength=2, defect=0.0, lam=1e-3, n_points=1, max_len=10**6, bound=1e308
        ),
        Error(("bound", "max_len"), otherwise=lambda r: r == math.inf),
    )
    probe(
        "design_defects.2896-points-t=400",
        "design_defects",
        "2896 points at t = 400 (minutes before): refused with the estimated work",
        lambda: api("design_defects")(api("random_sphere_points")(2896, 2, seed=0), 400),
        Error(("max_work", "t", "points", *SIZE_WORDS), size=True),
    )
    probe(
        "compute_spherical_design.t=60",
        "compute_spherical_design",
        "t = 60 (1891 points, minutes before): refused with the estimated work",
        lambda: api("compute_spherical_design")(60),
        Error(("max_work", "t", *SIZE_WORDS), size=True),
    )
    probe(
        "harmonic_dimension.huge",
        "harmonic_dimension",
        "l = m = 10^6 (71 s before): refused with the size",
        lambda: api("harmonic_dimension")(10**6, 10**6),
        Error(("ell", "m", "l", "digits"), size=True),
    )

    def float32_points() -> object:
        x = api("spherical_design")(4).points.float()
        return api("design_defects")(x / x.norm(dim=1, keepdim=True), 4)

    probe(
        "design_defects.float32",
        "design_defects",
        "float32 unit vectors of a 4-design: small certified defects (refused before)",
        float32_points,
        Check(lambda r: (bool(torch.as_tensor(r).max() < 1e-5), str(r)[:80])),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="run only probes whose id or public name contains this")
    parser.add_argument("--json", type=Path, help="write every probe's record to this file")
    parser.add_argument("--jobs", type=int, default=2, help="probes run at once (default 2)")
    parser.add_argument("--list", action="store_true", help="list the probes and exit")
    args = parser.parse_args(argv)
    register_all()
    probes = [p for p in PROBES if not args.only or args.only in p.id or args.only in p.name]
    if args.list:
        for p in probes:
            print(f"{p.id}\t{p.name}\t{p.description}")
        print(f"{len(probes)} probes")
        return 0
    start = time.monotonic()
    warm_up()
    records = run_probes(probes, max(1, args.jobs))
    print(report(records))
    print(f"\nwall time {time.monotonic() - start:.0f} s, package at {PACKAGE_DIR}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "package": PACKAGE_DIR,
                    "counts": Counter(r["outcome"] for r in records),
                    "probes": records,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
