"""Settings every chapter applies first, the book's chapter list and budgets, and measurements.

`set_deterministic_defaults` makes stored notebook outputs reproducible. `book_pages` and
`book_chapters` read the table of contents (`_toc.yml`): the one source of the chapter list for
the tests, the budgets and the Binder rehearsal. `CHAPTER_SECONDS_BUDGET` and
`CHAPTER_MEMORY_BUDGET_MIB` are the book's budget per chapter, and `budget_problems` says what
exceeds them. `package_versions`, `peak_memory_mib` and `execute_and_measure` record the
environment and a notebook's time and memory (executing notebooks needs nbclient and
nbformat, which requirements.txt installs).
"""

from __future__ import annotations

import importlib.metadata
import math
import numbers
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ._validation import check_positive_int

__all__ = [
    "CHAPTER_MEMORY_BUDGET_MIB",
    "CHAPTER_SECONDS_BUDGET",
    "NotebookRun",
    "book_chapters",
    "book_pages",
    "budget_problems",
    "execute_and_measure",
    "package_versions",
    "peak_memory_mib",
    "set_deterministic_defaults",
]


#: Wall-clock seconds a chapter's cells may take on 2 cores (a laptop, a free Binder session).
CHAPTER_SECONDS_BUDGET = 60.0

#: Peak resident memory a chapter's kernel may reach, in MiB (Binder gives 2 GB in all).
CHAPTER_MEMORY_BUDGET_MIB = 1536.0


def _toc(root: str | Path) -> tuple[Path, dict]:
    import yaml  # type: ignore[import-untyped]  # PyYAML: with Jupyter Book, and in binder/

    root = Path(root)
    toc_path = root / "_toc.yml"
    if not toc_path.is_file():
        raise ValueError(f"no _toc.yml in {str(root)!r}: pass the book's root folder")
    toc = yaml.safe_load(toc_path.read_text())
    if not isinstance(toc, dict) or "root" not in toc or not isinstance(toc.get("parts"), list):
        raise ValueError(f"{toc_path} is not a Jupyter Book toc with a root and parts")
    return root, toc


def book_pages(root: str | Path = ".") -> list[str]:
    """Every page of the book in reading order, as paths without suffix relative to `root`
    (the folder holding `_toc.yml`), such as "book/theorem1_density"; the root page first.

    Raises ValueError if `root` holds no `_toc.yml` or it is not a book's toc.

    Used in: no chapter by name (the tests and the Binder rehearsal list pages with it).
    """
    root, toc = _toc(root)
    return [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]


def book_chapters(root: str | Path = ".") -> list[str]:
    """The numbered chapters (the entries of the toc's numbered parts), in reading order, as
    paths without suffix relative to `root`, such as "book/theorem1_density".

    Raises ValueError as `book_pages` does.

    Used in: book/reproducibility.ipynb.
    """
    root, toc = _toc(root)
    return [
        entry["file"] for part in toc["parts"] if part.get("numbered") for entry in part["chapters"]
    ]


def budget_problems(seconds: float, peak_mib: float | None) -> list[str]:
    """What a chapter run of `seconds` (its cells' wall-clock time) and kernel peak memory
    `peak_mib` (None when unknown, which passes) exceeds of the book's budget; [] if nothing.

    Raises ValueError for a negative or non-finite time or memory.

    Used in: no chapter by name (the test suite's chapter budgets apply it).
    """
    checked: dict[str, float] = {}
    values = [("seconds", seconds)] + ([] if peak_mib is None else [("peak_mib", peak_mib)])
    for name, value in values:
        # A NumPy scalar (np.float64, np.int64) is a number too; bool is not.
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name} must be a finite number >= 0; got {value!r:.80}")
        try:
            number = float(value)
        except OverflowError:  # an int beyond float64 (10**400)
            raise ValueError(
                f"{name} must be a finite number >= 0; got an integer too large for a float"
            ) from None
        if not (math.isfinite(number) and number >= 0):
            raise ValueError(f"{name} must be a finite number >= 0; got {value!r:.80}")
        checked[name] = number
    seconds = checked["seconds"]
    peak_mib = checked.get("peak_mib")
    problems = []
    if seconds > CHAPTER_SECONDS_BUDGET:
        problems.append(f"ran for {seconds:.1f} s (budget {CHAPTER_SECONDS_BUDGET:.0f} s)")
    if peak_mib is not None and peak_mib > CHAPTER_MEMORY_BUDGET_MIB:
        problems.append(
            f"peaked at {peak_mib:.0f} MiB (budget {CHAPTER_MEMORY_BUDGET_MIB:.0f} MiB)"
        )
    return problems


def set_deterministic_defaults(*, print_digits: int = 6) -> None:
    """Make a chapter's numbers repeatable: one torch thread (sums then run in a fixed order),
    float64 as torch's default dtype, and `print_digits` significant digits when NumPy and
    torch print arrays. Randomness is not seeded globally: every random draw in the package
    takes its own explicit `seed`.

    Used in: book/attention_prefixes_prompts.ipynb, book/beyond_saturation.ipynb,
    book/corollary2_elementwise.ipynb, book/course.ipynb, book/kolmogorov_arnold.ipynb,
    book/lemma3_core_head.ipynb, book/prefix_mixing.ipynb, book/seq2seq_universality.ipynb,
    book/sphere_nets.ipynb, book/spherical_designs.ipynb, book/theorem1_density.ipynb,
    book/theorem4_jackson_bounds.ipynb.
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
    if not all(n.strip() for n in names):
        raise ValueError(f"names must not hold empty distribution names; got {list(names)!r:.80}")
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
    if isinstance(pid, bool | np.bool_) or not isinstance(pid, numbers.Integral) or pid <= 0:
        raise ValueError(f"pid must be a positive integer; got {pid!r:.80}")
    pid = int(pid)
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
    memory. The notebook file is not modified. `timeout` is the limit per cell, in seconds.

    Raises TypeError for a path that is not a str or Path or a timeout that is not an int,
    ValueError for a path that is not an existing .ipynb file or a timeout below 1, and
    nbclient's CellExecutionError if a cell fails.

    Used in: no chapter by name (the reproducibility record shows how to measure a chapter).
    """
    import nbformat
    from nbclient import NotebookClient

    if not isinstance(path, str | Path):
        raise TypeError(f"path must be a str or Path; got {type(path).__name__} {path!r}")
    path = Path(path)
    if path.suffix != ".ipynb" or not path.is_file():
        raise ValueError(f"path must be an existing .ipynb file; got {str(path)!r}")
    timeout = check_positive_int(timeout, "timeout")
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
