"""The results map (book/results_map.md) against the book and the code: it lists every numbered
statement of the chapters once, in the chapter that holds it; every package name in it is a
public object of prefix_approx; every test it names exists. The README's table of results
names only tests that exist too.

The map writes names as <code> elements with <wbr> after each underscore or dot, so that a
browser may break them and the table fits the page; the tests read them without the <wbr>."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import prefix_approx as pa

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
MAP = ROOT / "book" / "results_map.md"
CHAPTERS = pa.book_chapters(ROOT)

#: A statement box with a label, as the chapters write them.
BOX = re.compile(r"`{3,}\{prf:(?!proof)(\w+)\}[^\n]*\n(?::[\w-]+:[^\n]*\n)*?:label: ([\w-]+)")
#: A name in the map: <code>name</code>, with <wbr> break opportunities inside.
CODE = re.compile(r"<code>(.*?)</code>")


def code_names(cell: str) -> list[str]:
    """The names written as <code> elements in a cell of the map, without <wbr>."""
    return [name.replace("<wbr>", "") for name in CODE.findall(cell)]


def chapter_labels() -> dict[str, str]:
    """Every statement label of the chapters, mapped to its chapter's file name."""
    labels: dict[str, str] = {}
    for name in CHAPTERS:
        cells = json.loads((ROOT / f"{name}.ipynb").read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        for _, label in BOX.findall(text):
            assert label not in labels, f"label {label} defined twice"
            labels[label] = Path(name).name
    return labels


def map_rows() -> list[str]:
    """The table rows of the results map, without the header and the rule."""
    rows = [line for line in MAP.read_text().splitlines() if line.startswith("| {prf:ref}")]
    assert rows, "the results map has no rows"
    return rows


def defined_tests() -> dict[str, set[str]]:
    """Test function names defined in each test file (tests/*.py), by file name."""
    found = {}
    for path in TESTS.glob("test_*.py"):
        tree = ast.parse(path.read_text())
        found[path.name] = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        }
    return found


def test_every_numbered_statement_has_one_row_in_its_chapter() -> None:
    labels = chapter_labels()
    assert len(labels) >= 20
    listed = {}
    for row in map_rows():
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 5, f"a row needs 5 columns: {row[:80]}"
        label = re.match(r"\{prf:ref\}`([\w-]+)`", cells[0]).group(1)
        assert label not in listed, f"{label} has two rows"
        chapter = re.fullmatch(r"\[\d+\]\(([\w]+)\.ipynb\)", cells[2])
        assert chapter, f"{label}: the chapter column must link the chapter: {cells[2]}"
        listed[label] = chapter.group(1)
    missing = set(labels) - set(listed)
    assert not missing, f"statements missing from the results map: {sorted(missing)}"
    unknown = set(listed) - set(labels)
    assert not unknown, f"the results map lists labels no chapter defines: {sorted(unknown)}"
    for label, chapter in listed.items():
        assert chapter == labels[label], f"{label} is in {labels[label]}, not in {chapter}"


def test_chapter_numbers_follow_the_table_of_contents() -> None:
    number = {Path(name).name: i for i, name in enumerate(CHAPTERS, start=1)}
    for row in map_rows():
        n, chapter = re.search(r"\[(\d+)\]\(([\w]+)\.ipynb\)", row).groups()
        assert number[chapter] == int(n), f"{chapter} is chapter {number[chapter]}, not {n}"


def test_every_package_name_is_a_public_object() -> None:
    for row in map_rows():
        package = [c.strip() for c in row.strip("|").split("|")][3]
        names = code_names(package)
        assert names or package == "none", row[:80]
        for name in names:
            obj = pa
            for part in name.split("."):
                assert hasattr(obj, part), f"prefix_approx has no {name}"
                obj = getattr(obj, part)


def test_every_test_named_in_the_results_map_exists() -> None:
    found = defined_tests()
    everywhere = [name for names in found.values() for name in names]
    # The map names tests without their files, so a name must identify one test.
    assert len(everywhere) == len(set(everywhere)), "two test files define the same name"
    named = 0
    for row in map_rows():
        tests = [c.strip() for c in row.strip("|").split("|")][4]
        names = code_names(tests)
        assert names or tests == "none", row[:80]
        for name in names:
            assert re.fullmatch(r"test_\w+", name), name
            assert name in everywhere, f"no test function {name} in tests/*.py"
            named += 1
    assert named >= 30


def test_every_test_named_in_the_readme_table_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Paper result → chapter → package → test")[1].split("\n## ")[0]
    found = defined_tests()
    current_file = None
    named = 0
    for row in table.splitlines():
        if not row.startswith("| ") or row.startswith("| Result"):
            continue
        tests = row.rstrip(" |").rsplit("|", 1)[1]
        # Entries are `tests/file.py::function`, or `::function` for the file named before.
        for file, function in re.findall(r"`(?:tests/(test_\w+\.py))?::(test_\w+)`", tests):
            current_file = file or current_file
            assert current_file in found, f"README names no such file tests/{current_file}"
            assert function in found[current_file], f"README: no {function} in {current_file}"
            named += 1
        for file in re.findall(r"`tests/(test_\w+\.py)`", tests):
            assert file in found, f"README names no such file tests/{file}"
    assert named >= 20
