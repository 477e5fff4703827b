"""The book's figure style: one look for every chapter, sized for the page and the phone.

Every figure is drawn `COLUMN_WIDTH_IN` inches wide at `DPI` dots per inch, so that the page
shows it at one scale: in the 784-pixel text column of a desktop browser, 1 pt of figure text
is about 1.7 CSS pixels, and the smallest text of the style (`MIN_FONT_PT`) stays above 9 pt.
Multi-panel figures stack their panels (at most two side by side) so a phone can read them.
"""

from __future__ import annotations

import matplotlib as mpl

__all__ = ["COLUMN_WIDTH_IN", "DPI", "MIN_FONT_PT", "figure_size", "use_book_style"]

#: Width of every figure, in inches: the text column of the book's pages.
COLUMN_WIDTH_IN = 6.4

#: Resolution of the PNG figures (sharp on high-density screens and in print).
DPI = 200

#: The smallest font size the style uses, in points (ticks and legends).
MIN_FONT_PT = 10

#: Matplotlib settings for every figure of the book.
BOOK_STYLE = {
    "figure.figsize": (COLUMN_WIDTH_IN, 4.0),
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "legend.fontsize": MIN_FONT_PT,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "mathtext.fontset": "cm",
    "svg.hashsalt": "prefix-approx",
}


def figure_size(rows: int = 1, cols: int = 1, *, panel_height: float = 3.2) -> tuple[float, float]:
    """(width, height) in inches for a grid of `rows` x `cols` panels at the column width.

    Raises ValueError for more than two panels side by side (unreadable on a phone) or a
    non-positive count or height.

    Used in: every chapter with a figure.
    """
    if not (isinstance(rows, int) and isinstance(cols, int)) or rows < 1 or cols < 1:
        raise ValueError(f"rows and cols must be integers >= 1; got {rows!r}, {cols!r}")
    if cols > 2:
        raise ValueError(
            f"at most 2 panels side by side fit a phone's width; got cols={cols}: stack them"
        )
    if not panel_height > 0:
        raise ValueError(f"panel_height must be > 0 inches; got {panel_height!r}")
    height = panel_height * rows * (1.0 if cols == 1 else 0.85)
    return (COLUMN_WIDTH_IN, round(height, 2))


def use_book_style() -> None:
    """Apply the book's matplotlib style (`BOOK_STYLE`) to every figure drawn afterwards.

    Used in: every chapter with a figure.
    """
    mpl.rcParams.update(BOOK_STYLE)  # type: ignore[arg-type]
