"""Input checks shared by the package's public functions.

Every public function converts what it is given with these helpers, so a bad input fails
early with a message that names the argument, says what was wrong and what is expected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np
import torch

#: Largest allowed deviation of a point's Euclidean norm from 1 for it to count as on the sphere.
SPHERE_TOLERANCE = 1e-9


#: What public functions accept where they take an array: a torch tensor, a NumPy array or
#: scalar, anything with ``__array__``, or (nested) sequences of real numbers.
ArrayLike = torch.Tensor | np.ndarray | Sequence | np.generic

# NumPy dtype kinds that hold real numbers: floats, signed and unsigned integers.
_REAL_KINDS = frozenset("fiu")


def as_float64(
    value: object,
    name: str,
    *,
    ndim: int | None = None,
    min_ndim: int | None = None,
    last_dim: int | None = None,
) -> torch.Tensor:
    """Return `value` as a finite float64 CPU tensor, or raise a clear error.

    Accepts torch tensors (any layout, dtype and device), NumPy arrays of any memory layout
    (negative or zero strides, transposed or sliced views, read-only arrays: copied where
    torch cannot share their memory), NumPy scalars, objects with ``__array__`` and (nested)
    sequences of real numbers. Integer and floating dtypes are converted to float64.

    Raises `TypeError` naming `name` for a wrong kind of value (booleans, complex numbers,
    strings, objects); `ValueError` for a ragged nested sequence, a wrong number of
    dimensions, a wrong last dimension or a NaN/inf entry.
    """
    if isinstance(value, torch.Tensor):
        tensor = value
        if tensor.layout != torch.strided:
            raise TypeError(
                f"{name} must be a dense tensor; got layout {tensor.layout} "
                "(call .to_dense() first)"
            )
        if tensor.is_meta:
            raise ValueError(f"{name} is a meta tensor: it has a shape but no values")
        if (
            tensor.dtype == torch.bool
            or tensor.is_complex()
            or not (tensor.is_floating_point() or tensor.dtype in _INTEGER_DTYPES)
        ):
            raise TypeError(f"{name} must hold real numbers; got dtype {tensor.dtype}")
    elif isinstance(value, str | bytes) or not (
        isinstance(value, np.ndarray | np.generic | Sequence | int | float)
        or hasattr(value, "__array__")
    ):
        raise TypeError(
            f"{name} must be a torch.Tensor, a NumPy array or a sequence of numbers; "
            f"got {type(value).__name__}"
        )
    else:
        tensor = torch.from_numpy(_real_numpy_array(value, name))
    _check_shape(tensor, name, ndim=ndim, min_ndim=min_ndim, last_dim=last_dim)
    # Contiguous, so that results do not depend on the caller's memory layout (matrix
    # products of strided views round differently).
    # Differentiable: a tensor that requires grad keeps its graph through the conversion.
    tensor = tensor.to(device="cpu", dtype=torch.float64).contiguous()
    bad = _count_non_finite(tensor.detach())
    if bad:
        raise ValueError(f"{name} must be finite; it has {bad} NaN or infinite entries")
    return tensor


def _real_numpy_array(value: object, name: str) -> np.ndarray:
    """`value` as a NumPy array of real numbers that torch can share: float64 (or a narrower
    integer or float type, converted later by torch), non-negative strides, writeable. A
    view torch cannot take as it is (a negative stride, a read-only buffer, a dtype torch
    lacks such as float128 or uint64) is copied into a fresh float64 array."""
    try:
        array = np.asarray(value)
    except ValueError as err:  # NumPy's message for a ragged nested sequence
        raise ValueError(
            f"{name} must be a rectangular array of numbers (every row the same length); "
            f"NumPy could not make one: {err}"
        ) from err
    except TypeError as err:
        raise TypeError(f"{name} must be an array of real numbers; got {value!r:.80}") from err
    if array.dtype.kind not in _REAL_KINDS:
        raise TypeError(
            f"{name} must hold real numbers (integers or floats); got NumPy dtype "
            f"{array.dtype} from {type(value).__name__}"
        )
    shareable = (
        array.flags.writeable
        and all(stride >= 0 for stride in array.strides)
        and array.dtype.byteorder in "=|"
        and array.dtype.type in _SHAREABLE_NUMPY_TYPES
    )
    return array if shareable else np.array(array, dtype=np.float64, order="C")


def _check_shape(
    tensor: torch.Tensor,
    name: str,
    *,
    ndim: int | None,
    min_ndim: int | None,
    last_dim: int | None,
) -> None:
    if ndim is not None and tensor.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got shape {tuple(tensor.shape)}")
    if min_ndim is not None and tensor.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions; got shape {tuple(tensor.shape)}"
        )
    if last_dim is not None and (tensor.ndim == 0 or tensor.shape[-1] != last_dim):
        raise ValueError(
            f"{name} must have last dimension {last_dim}; got shape {tuple(tensor.shape)}"
        )


def as_indices(value: object, name: str, *, length: int, upper: int) -> torch.Tensor:
    """Return `value` as an int64 CPU tensor of `length` indices, each in 0..upper-1.

    Accepts the same array-likes as `as_float64` (any memory layout), of an integer dtype
    (or whole-number floats). Raises `TypeError` for another kind, `ValueError` for a wrong
    shape or an index out of range, naming `name`.
    """
    values = as_float64(value, name, ndim=1)
    if values.shape[0] != length:
        raise ValueError(
            f"{name} must hold {length} indices (one per query); got shape {tuple(values.shape)}"
        )
    if (values != values.round()).any():
        raise TypeError(f"{name} must hold integer indices; got non-integer values")
    if values.numel() and (values.min() < 0 or values.max() >= upper):
        raise ValueError(
            f"{name} must hold indices in 0..{upper - 1}; got values in "
            f"[{int(values.min())}, {int(values.max())}]"
        )
    return values.long()


def _count_non_finite(tensor: torch.Tensor, block: int = 2**20) -> int:
    """Number of NaN/inf entries, checked in blocks so a huge tensor needs no full-size copy."""
    flat = tensor.reshape(-1) if tensor.is_contiguous() else tensor.contiguous().reshape(-1)
    return sum(
        int((~torch.isfinite(flat[start : start + block])).sum())
        for start in range(0, flat.numel(), block)
    )


_INTEGER_DTYPES = {
    torch.uint8,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.uint16,
    torch.uint32,
    torch.uint64,
}

# NumPy scalar types whose arrays torch.from_numpy shares without a copy.
_SHAREABLE_NUMPY_TYPES = (
    np.float64,
    np.float32,
    np.float16,
    np.int64,
    np.int32,
    np.int16,
    np.int8,
    np.uint8,
)


def as_sphere_points(
    value: object,
    name: str,
    *,
    ndim: int | None = None,
    min_ndim: int | None = None,
    last_dim: int | None = None,
) -> torch.Tensor:
    """`as_float64` for points of S^m (last axis), checked to lie on the unit sphere within
    the rounding of the caller's dtype: 1e-9 for float64 and integer input, 32 units in the
    last place of a narrower float type (about 4e-6 for float32). Points given in a narrower
    type are then renormalised in float64, so that they lie on the sphere to float64
    rounding. Raises like `as_float64`, and ValueError for a point off the sphere.
    """
    points = as_float64(value, name, ndim=ndim, min_ndim=min_ndim, last_dim=last_dim)
    source = _source_float_eps(value)
    tolerance = max(SPHERE_TOLERANCE, 32 * source)
    check_on_sphere(points, name, tol=tolerance)
    if source > np.finfo(np.float64).eps and points.numel():
        points = points / torch.linalg.vector_norm(points, dim=-1, keepdim=True)
    return points


def _source_float_eps(value: object) -> float:
    """Machine epsilon of the floating dtype `value` was given in (float64's for other kinds)."""
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return float(torch.finfo(value.dtype).eps)
    dtype = getattr(value, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return float(np.finfo(dtype).eps)
    return float(np.finfo(np.float64).eps)


def check_on_sphere(points: torch.Tensor, name: str, tol: float = SPHERE_TOLERANCE) -> None:
    """Raise `ValueError` unless every row (last axis) of `points` has Euclidean norm 1 ± `tol`."""
    if points.shape[-1] < 2:
        raise ValueError(
            f"{name} must be points of S^m in R^(m+1) with m >= 1, so the last dimension must "
            f"be at least 2; got shape {tuple(points.shape)}"
        )
    if points.numel() == 0:
        return
    deviation = (torch.linalg.vector_norm(points, dim=-1) - 1.0).abs().max().item()
    if deviation > tol:
        raise ValueError(
            f"{name} must lie on the unit sphere (norm 1 within {tol:g}); the worst point has "
            f"| |x| - 1 | = {deviation:.3g}. Normalise it in float64: x = x.double(); "
            "x / x.norm(dim=-1, keepdim=True)."
        )


#: Largest count (tokens, points, lengths) the package accepts: beyond 2^53 a float64 no
#: longer holds every integer, and no such object fits in memory anyway.
MAX_COUNT = 2**53


def check_positive_int(
    value: object, name: str, *, minimum: int = 1, maximum: int = MAX_COUNT
) -> int:
    """Return `value` as an int if it is an integer in [`minimum`, `maximum`], else raise
    TypeError (not an integer; booleans are not) or ValueError (out of range)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {value!r:.40}")
    number = int(value)
    if number < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {_short(number)}")
    if number > maximum:
        raise ValueError(f"{name} must be an integer <= {_short(maximum)}; got {_short(number)}")
    return number


def _short(value: int) -> str:
    """An integer as written, or as about 10^d once it has more than 12 digits."""
    return str(value) if abs(value) < 10**12 else f"about 10^{len(str(abs(value))) - 1}"


def check_flag(value: object, name: str) -> bool:
    """Return `value` if it is a bool (Python or NumPy), else raise TypeError: a string such
    as 'no' would otherwise count as true."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be True or False; got {type(value).__name__} {value!r:.40}")


def check_positive_float(value: object, name: str) -> float:
    """Return `value` as a float if it is a finite real number > 0, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r:.40}")
    value = _as_float(value, name)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value}")
    return value


def _as_float(value: numbers.Real, name: str) -> float:
    """float(value), or ValueError for an integer beyond float64's range (10**400)."""
    try:
        return float(value)
    except OverflowError as err:
        raise ValueError(f"{name} must be a finite number; got an integer beyond 1.8e308") from err


def check_nonnegative_float(value: object, name: str) -> float:
    """Return `value` as a float if it is a finite real number >= 0, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r:.40}")
    value = _as_float(value, name)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value}")
    return value


def check_seed(seed: object) -> int:
    """Return `seed` as an int if it is a non-negative integer, else raise a clear error."""
    return check_positive_int(seed, "seed", minimum=0)


def evaluate_target(
    f: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor, name: str = "f"
) -> torch.Tensor:
    """Values f(points) (Q, k) of a target f at `points` (Q, m+1), checked: f must be callable
    and return a finite real array of shape (Q, k).

    Internal: the builders and `sup_error` call it on the caller's target.
    """
    if not callable(f):
        raise TypeError(f"{name} must be a function of points (Q, m+1) -> (Q, k); got {f!r:.60}")
    if not isinstance(points, torch.Tensor) or points.ndim != 2:
        raise TypeError(
            f"points must be a 2-D torch tensor (Q, m+1); got {type(points).__name__} "
            f"{getattr(points, 'shape', '')}"
        )
    values = f(points.clone())
    try:
        values = as_float64(values, f"{name}(x)")
    except TypeError as err:
        raise TypeError(f"{name} must return an array of real numbers: {err}") from err
    if values.ndim != 2 or values.shape[0] != points.shape[0]:
        hint = " (for a scalar target return f(x)[:, None])" if values.ndim == 1 else ""
        raise ValueError(
            f"{name} must return shape (Q, k) = ({points.shape[0]}, k) for Q = "
            f"{points.shape[0]} points; got {tuple(values.shape)}{hint}"
        )
    return values


def check_sequences(x: object, n: int, name: str = "x") -> torch.Tensor:
    """`x` as a float64 tensor of B sequences of n scalar tokens, shape (B, n), with every
    token in [0, 1]; raises a clear error otherwise.

    Internal: the Part III models and representations call it on their inputs.
    """
    seq = as_float64(x, name, ndim=2)
    if seq.shape[1] != n:
        raise ValueError(
            f"{name} must hold sequences of n = {n} tokens; got shape {tuple(seq.shape)}"
        )
    if seq.numel() and (seq.min() < 0 or seq.max() > 1):
        raise ValueError(
            f"{name} must have every token in [0, 1]; got values in "
            f"[{float(seq.min()):.4g}, {float(seq.max()):.4g}]"
        )
    return seq
