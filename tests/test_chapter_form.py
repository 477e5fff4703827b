"""The form of every chapter as readers meet it, checked on the sources (the built site is
checked in tests/book_site): numbered results referenced by number, figures with a number, a
caption and alt text at the column width, code and printed output that fit the column,
exercises with a difficulty and executed solutions, and a "Key takeaways" box.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from prefix_approx import book_chapters
from prefix_approx.plotting import COLUMN_WIDTH_IN, MIN_FONT_PT

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = book_chapters(ROOT)

#: Widest code line and printed output line, in characters: what the article column shows
#: without a horizontal scroll bar on a desktop browser.
COLUMN_CHARACTERS = 79

DIFFICULTIES = ("warm-up", "standard", "challenge")


def cells(name: str) -> list[dict]:
    return json.loads((ROOT / f"{name}.ipynb").read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def markdown(name: str) -> str:
    return "\n".join(source(c) for c in cells(name) if c["cell_type"] == "markdown")


def figure_cells(name: str) -> list[dict]:
    return [
        c
        for c in cells(name)
        if c["cell_type"] == "code"
        and any("image/png" in o.get("data", {}) for o in c.get("outputs", []))
    ]


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_statement_box_is_numbered(name: str) -> None:
    assert ":nonumber:" not in markdown(name)


@pytest.mark.parametrize("name", CHAPTERS)
def test_results_are_referenced_by_number_not_by_custom_text(name: str) -> None:
    # {prf:ref}`text <label>` prints the text ("the lemma"); {prf:ref}`label` the number.
    custom = re.findall(r"\{prf:ref\}`[^`<]+<[^`>]+>`", markdown(name))
    assert not custom, f"references by custom text instead of number: {custom}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_figure_has_a_name_a_caption_and_alt_text(name: str) -> None:
    figures = figure_cells(name)
    assert figures
    for cell in figures:
        meta = cell.get("metadata", {}).get("mystnb", {})
        figure, image = meta.get("figure", {}), meta.get("image", {})
        assert figure.get("name", "").startswith("fig-"), source(cell)[:80]
        assert len(figure.get("caption", "")) >= 40, f"caption too short: {figure}"
        alt = image.get("alt", "")
        assert len(alt) >= 40 and not re.fullmatch(r"[0-9a-f]{16,}.*", alt), alt


@pytest.mark.parametrize("name", CHAPTERS)
def test_figures_are_drawn_at_the_column_width_with_readable_fonts(name: str) -> None:
    code = "\n".join(source(c) for c in figure_cells(name))
    for width in re.findall(r"figsize=\(\s*([\d.]+)", code):
        assert float(width) <= COLUMN_WIDTH_IN, f"figure {width} in wide; use pa.figure_size"
    for size in re.findall(r"fontsize=([\d.]+)", code):
        assert float(size) >= MIN_FONT_PT, f"fontsize={size} is below {MIN_FONT_PT} pt"
    for match in re.findall(r"subplots\(\s*\d+\s*,\s*(\d+)", code):
        assert int(match) <= 2, "more than two panels side by side: stack them"
    # Labels typeset with mathtext, never ASCII math such as S^1 or psi_q.
    strings = re.findall(r"(?<![\w$])[rf]{0,2}\"([^\"\n]*)\"", code)
    ascii_math = [
        s for s in strings if re.search(r"\^|\b(psi|chi|lambda|eps)_", s) and "$" not in s
    ]
    assert not ascii_math, f"ASCII math in figure text: {ascii_math}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_code_and_printed_output_fit_the_column(name: str) -> None:
    for cell in cells(name):
        if cell["cell_type"] != "code":
            continue
        for line in source(cell).splitlines():
            assert len(line) <= COLUMN_CHARACTERS, f"code line of {len(line)} chars: {line}"
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            if "image/png" in output.get("data", {}):
                continue
            for line in "".join(text).splitlines():
                assert len(line) <= COLUMN_CHARACTERS, f"output of {len(line)} chars: {line}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_exercise_has_a_difficulty_and_no_static_solution_code(name: str) -> None:
    text = markdown(name)
    bodies = re.findall(r"`{3,}\{exercise(?:-start)?\}[^\n]*\n(.*?)(?:\n`{3,}\n|$)", text, re.S)
    assert len(bodies) >= 2
    for body in bodies:
        lines = [line for line in body.splitlines() if line and not line.startswith(":")]
        first = lines[0] if lines else ""
        assert re.match(rf"\*\*Difficulty:\*\* ({'|'.join(DIFFICULTIES)})\.", first), first
    # A solution that computes is a code cell between solution-start and solution-end, run at
    # build time and compared by nbval; no solution quotes code as static text.
    for block in re.findall(r"`{3,}\{solution\}.*?\n`{3,}\n", text, re.S):
        assert "```python" not in block and "{code-cell}" not in block, block[:120]


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_ends_its_text_with_key_takeaways(name: str) -> None:
    text = markdown(name)
    takeaways = text.find("Key takeaways")
    exercises = text.find("## Exercises")
    assert takeaways != -1, "no Key takeaways box"
    assert exercises == -1 or takeaways < exercises, "Key takeaways belongs before Exercises"
