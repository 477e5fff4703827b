"""Tests of the measurement helpers in prefix_approx.reproducibility."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest

from prefix_approx import NotebookRun, execute_and_measure, package_versions, peak_memory_mib


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
