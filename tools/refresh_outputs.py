"""Re-execute chapters and store their outputs: the reference that nbval compares against.

Usage:  python tools/refresh_outputs.py [book/chapter.ipynb ...]   (default: every chapter)

Run it after changing a chapter or the package on purpose, then read the diff of the stored
outputs before committing. Cells run in the chapter's folder, like in the book build; no
timestamps are recorded, so an unchanged chapter produces an unchanged file.

The reproducibility record (`book/reproducibility.ipynb`) is never rewritten here: it
measures every chapter on the machine that builds the book, and its stored outputs are the
record of the machine it was last committed from; it is refused by name and skipped by default.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from prefix_approx import book_pages

ROOT = Path(__file__).resolve().parent.parent


def refresh(path: Path) -> float:
    """Execute the notebook at `path` in place; return the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)
    return time.perf_counter() - start


NEVER_REFRESHED = {"reproducibility"}


def default_paths() -> list[Path]:
    """Every notebook page of the table of contents (the one list of pages), in reading order,
    except the reproducibility record."""
    pages = [ROOT / f"{page}.ipynb" for page in book_pages(ROOT)]
    return [path for path in pages if path.is_file() and path.stem not in NEVER_REFRESHED]


def main(arguments: list[str]) -> None:
    paths = [Path(a) for a in arguments] or default_paths()
    refused = [str(path) for path in paths if path.stem in NEVER_REFRESHED]
    if refused:
        sys.exit(f"not refreshed (a record of the machine that built it): {', '.join(refused)}")
    for path in paths:
        print(f"{path}: {refresh(path):.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
