"""The phone rendering of figures (`phone_version`) and the legends it lays out again
(`figure_legend`, `panel_legend`): what the site tests measure on a 390 px page."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from prefix_approx import (
    figure_legend,
    panel_legend,
    phone_version,
    smallest_text_pt,
    use_book_style,
)
from prefix_approx.plotting import COLUMN_WIDTH_IN, DPI, MIN_FONT_PT, PHONE_WIDTH_IN

#: matplotlib-inline saves with a tight bounding box and its default padding of 0.1 inch.
TIGHT_MARGINS_IN = 0.2 + 0.02


def _png_width_in(fig) -> float:
    """Width, in inches, of the PNG matplotlib-inline would show (tight bounding box)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return Image.open(buffer).size[0] / DPI


@pytest.fixture(autouse=True)
def _book_style():
    with matplotlib.rc_context():
        use_book_style()
        yield
    plt.close("all")


def _two_panels_with_a_wide_legend():
    fig, axes = plt.subplots(
        1, 2, figsize=(COLUMN_WIDTH_IN, 3.0), sharey=True, layout="constrained"
    )
    x = np.linspace(0, 1, 20)
    for k in range(4):
        axes[0].plot(x, x**k, label=f"a fairly long label number {k}")
        axes[1].plot(x, x ** (k + 1))
    axes[0].set_title("(a) a title about as long as the column")
    legend = figure_legend(fig, ncols=4)
    return fig, axes, legend


def test_phone_version_stacks_panels_and_keeps_the_original() -> None:
    fig, axes, _ = _two_panels_with_a_wide_legend()
    positions = [ax.get_position().bounds for ax in axes]
    phone = phone_version(fig)
    assert tuple(fig.get_size_inches()) == (COLUMN_WIDTH_IN, 3.0)
    assert [ax.get_position().bounds for ax in axes] == positions
    assert phone.get_size_inches()[0] == PHONE_WIDTH_IN
    assert phone not in map(plt.figure, plt.get_fignums())  # closed in pyplot at once
    phone.draw_without_rendering()
    top, bottom = (ax.get_position() for ax in phone.axes[:2])
    assert top.y0 > bottom.y1  # stacked, not side by side
    assert abs(top.x0 - bottom.x0) < 0.05
    second = phone.axes[1]  # sharey hid its tick labels; they are shown again
    assert second.get_tightbbox().x0 < second.bbox.x0 - 10
    assert smallest_text_pt(phone) >= MIN_FONT_PT


def test_phone_version_refits_figure_legends_to_the_phone_width() -> None:
    fig, _, legend = _two_panels_with_a_wide_legend()
    fig.draw_without_rendering()
    assert legend.get_window_extent().width > PHONE_WIDTH_IN * fig.dpi  # too wide for a phone
    phone = phone_version(fig)
    (refit,) = phone.legends
    assert refit._ncols < legend._ncols
    # Measured as the page measures it: the PNG is no wider than the phone rendering, so its
    # smallest text keeps the size the constants promise.
    assert _png_width_in(phone) <= PHONE_WIDTH_IN + TIGHT_MARGINS_IN


def test_phone_version_moves_panel_legends_under_their_panel() -> None:
    fig, axes = plt.subplots(2, 1, figsize=(COLUMN_WIDTH_IN, 5.0), layout="constrained")
    for ax in axes:
        for k in range(5):
            ax.plot([0, 1], [k, k + 1], label=f"entry {k}, $d = {k}.5$")
        ax.set_xlabel("prefix length $N$")
        panel_legend(ax)
    beside = axes[0].get_legend()
    fig.draw_without_rendering()
    assert beside.get_window_extent().x0 >= axes[0].get_window_extent().x1
    phone = phone_version(fig)
    phone.draw_without_rendering()
    for ax in phone.axes:
        legend = ax.get_legend()
        box, label = legend.get_window_extent(), ax.xaxis.label.get_window_extent()
        assert box.y1 <= label.y0 + 1  # under the x label
        assert box.x0 >= -1 and box.x1 <= phone.bbox.width + 1
    assert _png_width_in(phone) <= PHONE_WIDTH_IN + TIGHT_MARGINS_IN
    assert phone.get_size_inches()[1] > 0.8 * 5.0  # taller by the legends' height


def test_legend_helpers_refuse_what_would_move_them() -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], label="x")
    with pytest.raises(TypeError, match="pass no loc or ncol"):
        figure_legend(fig, loc="upper left")
    with pytest.raises(TypeError, match="pass no loc or ncol"):
        figure_legend(fig, ncol=2)
    for bad in (0, 11):
        with pytest.raises(ValueError, match="ncols must be between 1 and 10"):
            figure_legend(fig, ncols=bad)
    for bad in (2.0, True, "2"):
        with pytest.raises(TypeError, match="ncols must be an int"):
            figure_legend(fig, ncols=bad)
    with pytest.raises(TypeError, match="matplotlib Figure"):
        figure_legend(ax)
    with pytest.raises(TypeError, match=r"pass no \['bbox_to_anchor', 'loc'\]"):
        panel_legend(ax, loc="upper left", bbox_to_anchor=(1, 1))
    with pytest.raises(TypeError, match="matplotlib Axes"):
        panel_legend(fig)
    with pytest.raises(TypeError, match="matplotlib Figure"):
        phone_version(ax)
