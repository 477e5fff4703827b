"""Every public object says which chapter uses it; the catalogue and the settings work."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pytest
import torch

import prefix_approx
from prefix_approx import (
    PublicObject,
    figure_size,
    public_objects,
    set_deterministic_defaults,
    use_book_style,
)
from prefix_approx.plotting import COLUMN_WIDTH_IN, MIN_FONT_PT


def test_every_public_object_names_its_chapter() -> None:
    objects = public_objects()
    assert all(isinstance(o, PublicObject) for o in objects)
    missing = [o.name for o in objects if not o.used_in]
    assert missing == [], f"docstrings without a 'Used in:' line: {missing}"
    assert all(o.summary for o in objects)


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
    with pytest.raises(ValueError, match="rows and cols must be integers"):
        figure_size(0, 1)
    with pytest.raises(ValueError, match="panel_height must be > 0"):
        figure_size(1, 1, panel_height=-1.0)
