"""The book's own rules, checked on its sources: every page is in the table of contents,
every chapter has a statement box, a check, a figure, and at least two exercises with folded
solutions, and every notebook is committed with outputs and nbval markers as tags."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from prefix_approx import book_chapters

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PARTS = {part["caption"]: [entry["file"] for entry in part["chapters"]] for part in TOC["parts"]}
CHAPTERS = book_chapters(ROOT)


def notebook(name: str) -> dict:
    return json.loads((ROOT / f"{name}.ipynb").read_text())


def markdown(name: str) -> str:
    return "\n".join(
        "".join(c["source"]) for c in notebook(name)["cells"] if c["cell_type"] == "markdown"
    )


def test_every_page_is_in_the_table_of_contents_and_exists() -> None:
    listed = {TOC["root"]} | {f for files in PARTS.values() for f in files}
    pages = {
        str(p.relative_to(ROOT).with_suffix(""))
        for p in BOOK.glob("*")
        if p.suffix in {".md", ".ipynb"}
    }
    assert pages == listed, f"not in the toc: {pages - listed}; missing files: {listed - pages}"
    assert len(CHAPTERS) >= 9


def test_parts_getting_started_then_chapters_then_appendix_then_back_matter() -> None:
    captions = list(PARTS)
    assert captions[0] == "Getting started"
    assert [c for c in captions if c.startswith("Part")] == captions[1:4]
    numbered = [part["caption"] for part in TOC["parts"] if part.get("numbered")]
    assert numbered == captions[1:4], "the Parts, and only they, are numbered (book_chapters)"
    assert captions[4:] == ["Appendix", "Back matter"]
    # Getting started is for readers; the package catalogue and the maintainers' notes are
    # in the appendix; the reproducibility record and the references close the book.
    assert {"book/about", "book/results_map", "book/notation", "book/course"} <= set(
        PARTS["Getting started"]
    )
    assert PARTS["Appendix"] == ["book/package", "book/troubleshooting"]
    assert PARTS["Back matter"] == ["book/reproducibility", "book/references"]


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_has_a_box_a_check_a_figure_and_two_folded_exercises(name: str) -> None:
    text = markdown(name)
    assert re.search(r"```\{prf:(theorem|lemma|corollary|proposition|definition)\}", text)
    exercises = re.findall(r"`{3,}\{exercise\}\n:label: ([\w-]+)", text)
    # A solution is a {solution} directive or, when it runs code, a solution-start ...
    # solution-end block around code cells; either kind is folded.
    solutions = re.findall(r"`{3,}\{solution(?:-start)?\} ([\w-]+)\n:class: dropdown", text)
    assert len(exercises) >= 2, f"{name} has {len(exercises)} exercises"
    assert sorted(exercises) == sorted(solutions), "every exercise needs a folded solution"
    starts, ends = text.count("{solution-start}"), text.count("{solution-end}")
    assert starts == ends, f"{starts} solution-start blocks but {ends} solution-end"
    cells = [c for c in notebook(name)["cells"] if c["cell_type"] == "code"]
    assert any("assert " in "".join(c["source"]) for c in cells), "no check cell"
    images = [o for c in cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "no figure"


@pytest.mark.parametrize("path", sorted(BOOK.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_with_outputs_and_use_tags(path: Path) -> None:
    nb = json.loads(path.read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("outputs") is not None for c in cells)
    assert any(c.get("outputs") for c in cells), "no stored outputs: nbval would check nothing"
    assert not any(o.get("output_type") == "error" for c in cells for o in c.get("outputs", []))
    assert not any("NBVAL_" in "".join(c["source"]) for c in cells), "use cell tags"
    assert not any("execution" in c.get("metadata", {}) for c in cells), "timestamps stored"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_only_timing_and_environment_cells_are_exempt_from_comparison() -> None:
    exempt = []
    for path in sorted(BOOK.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
                exempt.append((path.name, "".join(cell["source"])))
    for name, source in exempt:
        assert name == "reproducibility.ipynb" or "perf_counter" in source, name
