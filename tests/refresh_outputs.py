"""Re-execute chapters and store their outputs: the reference that nbval compares against.

Usage:  python tests/refresh_outputs.py [book/chapter.ipynb ...]   (default: every chapter)

Run it after changing a chapter or the package on purpose, then read the diff of the stored
outputs before committing. Cells run in the chapter's folder, like in the book build; no
timestamps are recorded, so an unchanged chapter produces an unchanged file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

BOOK = Path(__file__).resolve().parent.parent / "book"


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


def main(arguments: list[str]) -> None:
    paths = [Path(a) for a in arguments] or sorted(BOOK.glob("*.ipynb"))
    for path in paths:
        print(f"{path}: {refresh(path):.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
