"""Tests of the measurement helpers in prefix_approx.reproducibility."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest

from prefix_approx import (
    CHAPTER_MEMORY_BUDGET_MIB,
    CHAPTER_SECONDS_BUDGET,
    NotebookRun,
    book_chapters,
    book_pages,
    budget_problems,
    execute_and_measure,
    package_versions,
    peak_memory_mib,
)

ROOT = Path(__file__).resolve().parent.parent


def test_package_versions() -> None:
    versions = package_versions(["torch", "numpy", "no-such-distribution-here"])
    assert versions["torch"].startswith("2.")
    assert versions["no-such-distribution-here"] == "not installed"
    with pytest.raises(TypeError, match="list or tuple"):
        package_versions("torch")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_peak_memory_of_this_process() -> None:
    peak = peak_memory_mib(os.getpid())
    assert peak is not None and 20 < peak < 20_000
    assert peak_memory_mib(2**22 + 12345) is None  # no such process
    with pytest.raises(ValueError, match="positive integer"):
        peak_memory_mib(0)


def test_execute_and_measure_a_small_notebook(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = sum(range(10))"), nbformat.v4.new_code_cell("x")]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = tmp_path / "tiny.ipynb"
    nbformat.write(notebook, path)
    before = path.read_text()
    run = execute_and_measure(path)
    assert isinstance(run, NotebookRun) and run.name == "tiny"
    assert 0 < run.seconds < 60
    assert run.peak_mib is None or run.peak_mib > 10
    assert path.read_text() == before  # measuring does not rewrite the notebook


def test_execute_and_measure_raises_on_a_failing_cell(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = tmp_path / "bad.ipynb"
    nbformat.write(notebook, path)
    with pytest.raises(Exception, match="ZeroDivisionError"):
        execute_and_measure(path)
    with pytest.raises(ValueError, match=r"existing \.ipynb"):
        execute_and_measure(tmp_path / "missing.ipynb")


def test_book_pages_and_chapters_follow_the_toc(tmp_path: Path) -> None:
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n"
        "  - caption: Start\n    chapters:\n      - file: book/about\n"
        "  - caption: Part I\n    numbered: true\n    chapters:\n"
        "      - file: book/one\n      - file: book/two\n"
    )
    assert book_pages(tmp_path) == ["book/intro", "book/about", "book/one", "book/two"]
    assert book_chapters(tmp_path) == ["book/one", "book/two"]
    pages = book_pages(ROOT)
    assert pages[0] == "book/intro" and set(book_chapters(ROOT)) < set(pages)
    assert all((ROOT / f"{page}.ipynb").exists() for page in book_chapters(ROOT))


def test_book_pages_refuses_a_folder_without_a_toc(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no _toc\.yml"):
        book_pages(tmp_path)
    (tmp_path / "_toc.yml").write_text("- just a list\n")
    with pytest.raises(ValueError, match="not a Jupyter Book toc"):
        book_chapters(tmp_path)


def test_budget_problems_names_what_is_over() -> None:
    assert budget_problems(CHAPTER_SECONDS_BUDGET, CHAPTER_MEMORY_BUDGET_MIB) == []
    assert budget_problems(1.0, None) == []
    over = budget_problems(CHAPTER_SECONDS_BUDGET + 1, CHAPTER_MEMORY_BUDGET_MIB + 1)
    assert len(over) == 2 and "ran for 61.0 s" in over[0] and "MiB" in over[1]
    for bad in (-1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="seconds"):
            budget_problems(bad, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="peak_mib"):
        budget_problems(1.0, float("nan"))


def test_numpy_scalars_are_numbers_and_huge_integers_are_refused() -> None:
    """Regression: np.float64 times, np.int64 pids and figure counts were refused, and an
    integer beyond float64 (10**400) escaped as an OverflowError."""
    import numpy as np

    from prefix_approx import figure_size

    over = budget_problems(np.float64(CHAPTER_SECONDS_BUDGET + 1), np.int64(1))
    assert over == ["ran for 61.0 s (budget 60 s)"]
    with pytest.raises(ValueError, match=r"seconds.*too large"):
        budget_problems(10**400, None)
    with pytest.raises(ValueError, match="peak_mib"):
        budget_problems(1.0, np.float32(np.inf))
    with pytest.raises(ValueError, match="seconds"):
        budget_problems(np.bool_(True), None)  # type: ignore[arg-type]
    assert peak_memory_mib(np.int64(os.getpid())) == peak_memory_mib(os.getpid())
    assert figure_size(np.int64(2), np.int64(1), panel_height=np.float32(2.5)) == figure_size(
        2, 1, panel_height=2.5
    )
    with pytest.raises(ValueError, match=r"panel_height.*huge"):
        figure_size(1, 1, panel_height=10**400)


def test_refresher_lists_the_tocs_notebook_pages_and_never_the_record() -> None:
    """The output refresher reads the pages from the table of contents (one source)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("refresh", ROOT / "tools/refresh_outputs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pages = [ROOT / f"{page}.ipynb" for page in book_pages(ROOT)]
    expected = [p for p in pages if p.is_file() and p.stem != "reproducibility"]
    assert module.default_paths() == expected and len(expected) >= 10
    with pytest.raises(SystemExit, match="reproducibility"):
        module.main(["book/reproducibility.ipynb"])
