"""Every public object says which chapter uses it; the catalogue and the settings work."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import torch

import prefix_approx
from prefix_approx import PublicObject, public_objects, set_deterministic_defaults, use_book_style


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
        if not name.isupper()  # constants are not catalogued
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
        assert tuple(mpl.rcParams["figure.figsize"]) == (7.5, 4.2)
