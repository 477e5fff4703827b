"""Settings every chapter applies first, so that stored notebook outputs are reproducible."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["set_deterministic_defaults"]


def set_deterministic_defaults(*, print_digits: int = 6) -> None:
    """Make a chapter's numbers repeatable: one torch thread (sums then run in a fixed order),
    float64 as torch's default dtype, and `print_digits` significant digits when NumPy and
    torch print arrays. Randomness is not seeded globally: every random draw in the package
    takes its own explicit `seed`.

    Used in: every chapter.
    """
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    np.set_printoptions(precision=print_digits, suppress=True)
    torch.set_printoptions(precision=print_digits, sci_mode=False)
