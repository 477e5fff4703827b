"""Settings for every unit and property test.

- One torch thread: the tests are many small tensor operations, for which a thread pool
  costs more than it saves on the 2-core machines that run CI; it also makes float sums
  independent of the machine's core count.
- Hypothesis: a derandomized profile (a fixed example stream, no example database), so a
  CI run is repeatable. `HYPOTHESIS_PROFILE=dev` explores with fresh random examples.
"""

from __future__ import annotations

import os

import torch
from hypothesis import settings

torch.set_num_threads(1)

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
