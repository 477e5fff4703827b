"""Settings every chapter applies first, and measurements for the book's reproducibility record.

`set_deterministic_defaults` makes stored notebook outputs reproducible. `package_versions`,
`peak_memory_mib` and `execute_and_measure` record the environment and each chapter's time and
memory (executing notebooks needs nbclient and nbformat, which requirements.txt installs).
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ._validation import check_positive_int

__all__ = [
    "NotebookRun",
    "execute_and_measure",
    "package_versions",
    "peak_memory_mib",
    "set_deterministic_defaults",
]


def set_deterministic_defaults(*, print_digits: int = 6) -> None:
    """Make a chapter's numbers repeatable: one torch thread (sums then run in a fixed order),
    float64 as torch's default dtype, and `print_digits` significant digits when NumPy and
    torch print arrays. Randomness is not seeded globally: every random draw in the package
    takes its own explicit `seed`.

    Used in: book/attention_prefixes_prompts.ipynb, book/corollary2_elementwise.ipynb,
    book/course.ipynb, book/kolmogorov_arnold.ipynb, book/lemma3_core_head.ipynb,
    book/prefix_mixing.ipynb, book/seq2seq_universality.ipynb, book/sphere_nets.ipynb,
    book/theorem1_density.ipynb, book/theorem4_jackson_bounds.ipynb.
    """
    print_digits = check_positive_int(print_digits, "print_digits", minimum=1)
    if print_digits > 17:
        raise ValueError(f"print_digits must be at most 17 (float64's digits); got {print_digits}")
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    np.set_printoptions(precision=print_digits, suppress=True)
    torch.set_printoptions(precision=print_digits, sci_mode=False)


def package_versions(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Installed version of each distribution in `names` ("not installed" if absent).

    Used in: book/reproducibility.ipynb.
    """
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise TypeError(
            f"names must be a list or tuple of distribution names; got {type(names).__name__}"
        )
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def peak_memory_mib(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of process `pid` in MiB, read from /proc; None where /proc
    is not available (not Linux) or the process is gone.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise ValueError(f"pid must be a positive integer; got {pid!r}")
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


@dataclass(frozen=True)
class NotebookRun:
    """One execution of a notebook: wall-clock `seconds` spent executing its cells, and the
    kernel's peak resident memory `peak_mib` (None where it cannot be read).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    name: str
    seconds: float
    peak_mib: float | None


def execute_and_measure(path: str | Path, *, timeout: int = 600) -> NotebookRun:
    """Execute the notebook at `path` in a fresh kernel (working directory: its folder),
    raising if a cell fails, and measure the time its cells take and the kernel's peak
    memory. The notebook file is not modified.

    Used in: book/reproducibility.ipynb.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if path.suffix != ".ipynb" or not path.is_file():
        raise ValueError(f"path must be an existing .ipynb file; got {str(path)!r}")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    # The kernel's own start-up notices go to /dev/null, as nbval does, not into the caller.
    with client.setup_kernel(stderr=subprocess.DEVNULL):
        pid = client.km.provisioner.process.pid  # type: ignore[union-attr]
        start = time.perf_counter()
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
        peak = peak_memory_mib(pid)
    return NotebookRun(path.stem, seconds, peak)
