"""Budgets for the chapters, enforced while nbval re-executes them.

Every chapter must run within the book's budget (`prefix_approx.CHAPTER_SECONDS_BUDGET` and
`CHAPTER_MEMORY_BUDGET_MIB`: 60 s and 1.5 GB, so that it fits a laptop or a free Binder
session). While nbval runs a notebook's cells in its kernel, this plugin adds up the cells'
execution times and, after the last cell, reads the kernel's peak resident memory (VmHWM in
/proc, Linux only). A chapter over budget fails at the teardown of its last cell with a message
naming the figure, and every chapter's figures are printed in the test summary. This run and the
book build are the only two executions of a chapter in CI.
"""

from __future__ import annotations

import os

import pytest

from prefix_approx import budget_problems, peak_memory_mib

# The reproducibility record describes the build machine (versions, the build's execution
# times), so its outputs are not compared. The build executes it, and fails if it raises.
collect_ignore = ["reproducibility.ipynb"]

_seconds: dict[str, float] = {}


def _is_notebook_cell(item: pytest.Item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def _kernel_peak_mib(item: pytest.Item) -> float | None:
    """Peak resident memory of the notebook's kernel process, in MiB, or None if unknown."""
    kernel = getattr(item.parent, "kernel", None)
    try:
        pid = kernel.km.provisioner.process.pid  # type: ignore[union-attr]
    except AttributeError:
        return None
    return peak_memory_mib(pid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    outcome = yield
    if not _is_notebook_cell(item):
        return
    report = outcome.get_result()
    notebook = os.path.relpath(str(item.parent.path))
    if call.when == "call":
        _seconds[notebook] = _seconds.get(notebook, 0.0) + call.duration
    if call.when == "teardown" and hasattr(item, "_budget"):
        seconds, peak = item._budget
        report.user_properties.append(("chapter_budget", (notebook, seconds, peak)))
        problems = budget_problems(seconds, peak)
        if problems and report.passed:
            report.outcome = "failed"
            report.longrepr = f"{notebook} is over budget: " + " and ".join(problems)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After a notebook's last cell, before its kernel stops, record its time and memory."""
    if not _is_notebook_cell(item):
        return
    if nextitem is not None and nextitem.parent is item.parent:
        return
    notebook = os.path.relpath(str(item.parent.path))
    item._budget = (_seconds.get(notebook, 0.0), _kernel_peak_mib(item))  # type: ignore[attr-defined]


_measured: list[tuple[str, float, float | None]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Runs in the controlling process, also under xdist, so the summary sees every chapter.
    for name, value in report.user_properties:
        if name == "chapter_budget":
            _measured.append(tuple(value))  # type: ignore[arg-type]


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not _measured:
        return
    terminalreporter.section("chapter budgets (execution time of the cells, kernel peak memory)")
    for notebook, seconds, peak in sorted(_measured):
        memory = "n/a" if peak is None else f"{peak:6.0f} MiB"
        terminalreporter.write_line(f"{notebook:45s} {seconds:6.1f} s   {memory}")
