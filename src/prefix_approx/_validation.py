"""Input checks shared by the package's public functions.

Every public function converts what it is given with these helpers, so a bad input fails
early with a message that names the argument, says what was wrong and what is expected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch

#: Largest allowed deviation of a point's Euclidean norm from 1 for it to count as on the sphere.
SPHERE_TOLERANCE = 1e-9


def as_float64(
    value: object,
    name: str,
    *,
    ndim: int | None = None,
    min_ndim: int | None = None,
    last_dim: int | None = None,
) -> torch.Tensor:
    """Return `value` as a finite float64 CPU tensor, or raise a clear error.

    Accepts torch tensors, NumPy arrays and (nested) sequences of real numbers. Booleans,
    complex numbers and anything non-numeric raise `TypeError`; a wrong number of dimensions,
    a wrong last dimension or a NaN/inf entry raise `ValueError`.
    """
    if isinstance(value, torch.Tensor):
        tensor = value
    elif isinstance(value, np.ndarray | Sequence) and not isinstance(value, str | bytes):
        try:
            tensor = torch.as_tensor(np.asarray(value))
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be an array of real numbers; got {value!r:.80}") from err
    else:
        raise TypeError(
            f"{name} must be a torch.Tensor, a NumPy array or a sequence of numbers; "
            f"got {type(value).__name__}"
        )
    if (
        tensor.dtype == torch.bool
        or tensor.is_complex()
        or not (tensor.is_floating_point() or tensor.dtype in _INTEGER_DTYPES)
    ):
        raise TypeError(f"{name} must hold real numbers; got dtype {tensor.dtype}")
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
    tensor = tensor.detach().to(device="cpu", dtype=torch.float64)
    bad = _count_non_finite(tensor)
    if bad:
        raise ValueError(f"{name} must be finite; it has {bad} NaN or infinite entries")
    return tensor


def _count_non_finite(tensor: torch.Tensor, block: int = 2**20) -> int:
    """Number of NaN/inf entries, checked in blocks so a huge tensor needs no full-size copy."""
    flat = tensor.reshape(-1) if tensor.is_contiguous() else tensor.contiguous().reshape(-1)
    return sum(
        int((~torch.isfinite(flat[start : start + block])).sum())
        for start in range(0, flat.numel(), block)
    )


_INTEGER_DTYPES = {torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64}


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
            f"| |x| - 1 | = {deviation:.3g}. Normalise it with x / x.norm(dim=-1, keepdim=True)."
        )


def check_positive_int(value: object, name: str, *, minimum: int = 1) -> int:
    """Return `value` as an int if it is an integer >= `minimum`, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return int(value)


def check_positive_float(value: object, name: str) -> float:
    """Return `value` as a float if it is a finite real number > 0, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value}")
    return value


def check_nonnegative_float(value: object, name: str) -> float:
    """Return `value` as a float if it is a finite real number >= 0, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value}")
    return value


def check_seed(seed: object) -> int:
    """Return `seed` as an int if it is a non-negative integer, else raise a clear error."""
    return check_positive_int(seed, "seed", minimum=0)
