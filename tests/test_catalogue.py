"""Every public object says which chapter uses it; the catalogue and the settings work."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pytest
import torch
from PIL import Image

import prefix_approx
from prefix_approx import (
    PublicObject,
    figure_size,
    public_objects,
    set_deterministic_defaults,
    smallest_text_pt,
    use_book_style,
)
from prefix_approx.plotting import COLUMN_WIDTH_IN, DPI, MIN_FONT_PT, PHONE_WIDTH_IN

BOOK = Path(__file__).resolve().parent.parent / "book"


def test_every_public_object_names_its_chapter() -> None:
    objects = public_objects()
    assert all(isinstance(o, PublicObject) for o in objects)
    missing = [o.name for o in objects if not o.has_used_in]
    assert missing == [], f"docstrings without a 'Used in:' paragraph: {missing}"
    assert all(o.summary for o in objects)


def _chapters_calling(name: str) -> tuple[str, ...]:
    """The notebooks under book/ whose code cells call `pa.<name>`, as 'book/<file>.ipynb'."""
    found = []
    for path in sorted(BOOK.glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        if re.search(rf"\bpa\.{name}\b", code):
            found.append(f"book/{path.name}")
    return tuple(found)


def test_used_in_names_exactly_the_chapters_whose_code_calls_the_object() -> None:
    """The "Used in:" back-links are derived from the notebooks, not kept by hand: a chapter
    that starts or stops calling an object must be named or dropped in its docstring."""
    assert all("import prefix_approx as pa" in p.read_text() for p in BOOK.glob("*.ipynb"))
    wrong = []
    for obj in public_objects():
        derived = _chapters_calling(obj.name.split(".")[1])
        if obj.used_in != derived:
            wrong.append(f"{obj.name}: docstring {list(obj.used_in)}, notebooks {list(derived)}")
    assert not wrong, "\n".join(wrong)


def test_used_in_paragraphs_are_parsed() -> None:
    from prefix_approx.catalogue import _used_in

    doc = "Summary.\n\nUsed in: book/a.ipynb,\n    book/b_c.ipynb.\n"
    assert _used_in(doc) == (("book/a.ipynb", "book/b_c.ipynb"), True)
    assert _used_in("S.\n\nUsed in: no chapter by name (tests).") == ((), True)
    assert _used_in("S.\n\nNothing here.") == ((), False)


def test_catalogue_lists_exactly_the_top_level_api() -> None:
    listed = {o.name.split(".")[1] for o in public_objects()}
    exported = {
        name
        for name in prefix_approx.__all__
        if not name.isupper() and name != "ArrayLike"  # constants and type aliases are not
    }
    assert listed == exported


def test_deterministic_defaults() -> None:
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    printopts = np.get_printoptions()
    try:
        set_deterministic_defaults(print_digits=4)
        assert torch.get_num_threads() == 1
        assert torch.get_default_dtype() == torch.float64
        assert np.get_printoptions()["precision"] == 4
        assert str(np.array([1 / 3])) == "[0.3333]"
    finally:
        torch.set_num_threads(threads)
        torch.set_default_dtype(dtype)
        np.set_printoptions(**printopts)
        torch.set_printoptions(profile="default")


def test_book_style_sets_readable_fonts() -> None:
    with mpl.rc_context({"font.size": 7.0, "legend.frameon": True}):
        use_book_style()
        assert mpl.rcParams["font.size"] == 11
        assert mpl.rcParams["legend.frameon"] is False
        assert tuple(mpl.rcParams["figure.figsize"]) == (COLUMN_WIDTH_IN, 4.0)
        assert mpl.rcParams["savefig.dpi"] >= 200 and mpl.rcParams["figure.dpi"] >= 200
        sizes = [mpl.rcParams[k] for k in ("legend.fontsize", "xtick.labelsize", "ytick.labelsize")]
        assert min(sizes) >= MIN_FONT_PT >= 10


def test_figure_size_keeps_the_column_width_and_refuses_wide_grids() -> None:
    assert figure_size() == (COLUMN_WIDTH_IN, 3.2)
    assert figure_size(3, 1, panel_height=2.0) == (COLUMN_WIDTH_IN, 6.0)
    assert figure_size(1, 2)[0] == COLUMN_WIDTH_IN
    with pytest.raises(ValueError, match="at most 2 panels side by side"):
        figure_size(1, 3)
    for rows in (0, 21, 10**400):
        with pytest.raises(ValueError, match="rows must be between 1 and 20"):
            figure_size(rows, 1)
    for rows in (True, 1.0, "1"):
        with pytest.raises(TypeError, match="rows must be an int"):
            figure_size(rows, 1)  # type: ignore[arg-type]
    for height in (-1.0, 0.0, float("nan"), float("inf"), 1e9):
        with pytest.raises(ValueError, match=r"panel_height must be in \(0, 20\]"):
            figure_size(1, 1, panel_height=height)
    with pytest.raises(TypeError, match="panel_height must be a number"):
        figure_size(1, 1, panel_height="3")  # type: ignore[arg-type]


def test_smallest_text_pt_finds_the_smallest_visible_text() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([0, 1])
    ax.set_xlabel("x", fontsize=14)
    ax.tick_params(labelsize=12)
    assert smallest_text_pt(fig) == 12.0
    note = ax.text(0.5, 0.5, "small", fontsize=6.5)
    assert smallest_text_pt(fig) == 6.5
    note.set_visible(False)
    assert smallest_text_pt(fig) == 12.0
    with pytest.raises(TypeError, match="matplotlib Figure"):
        smallest_text_pt(ax)
    with pytest.raises(ValueError, match="no visible text"):
        smallest_text_pt(Figure())


def test_notebook_figures_record_their_smallest_text_and_resolution() -> None:
    """In a kernel, after use_book_style, a figure's PNG output carries its smallest text size
    and dpi in its metadata (what the site test measures figure text from)."""
    import nbclient
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\nimport prefix_approx as pa\n"
            "pa.use_book_style()\nfig, ax = plt.subplots()\nax.plot([0, 1])\n"
            "ax.text(0.5, 0.5, 'note', fontsize=7.5)\nplt.show()"
        ),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.plot([0, 1]);"),
        # No text to measure: the figure is still shown, and a warning says what is missing.
        nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.set_axis_off()"),
    ]
    nbclient.NotebookClient(notebook, timeout=60).execute()
    *measured, bare = notebook.cells
    recorded = [
        output["metadata"]["image/png"]["prefix_approx"]
        for cell in measured
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert any("image/png" in o.get("data", {}) for o in bare.outputs)
    assert not any("prefix_approx" in str(o.get("metadata", {})) for o in bare.outputs)
    warned = "".join(o.get("text", "") for o in bare.outputs if o["output_type"] == "stream")
    assert "without its text sizes and phone rendering" in warned
    assert "no visible text" in warned
    phones = [entry.pop("phone") for entry in recorded]
    assert recorded == [
        {"min_text_pt": 7.5, "dpi": float(DPI)},
        {"min_text_pt": float(MIN_FONT_PT), "dpi": float(DPI)},
    ]
    # Beside each figure, its phone rendering (phone_version): a PNG at most the phone's width
    assert [(p["min_text_pt"], p["dpi"]) for p in phones] == [(7.5, DPI), (MIN_FONT_PT, DPI)]
    for phone in phones:
        with Image.open(io.BytesIO(base64.b64decode(phone["png"]))) as image:
            # (a tight box: at most the width plus 0.1 inch of padding on each side)
            assert 0.8 * PHONE_WIDTH_IN < image.size[0] / DPI <= PHONE_WIDTH_IN + 0.22
