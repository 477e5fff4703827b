"""The book's figure style: one look for every chapter, sized for the page."""

from __future__ import annotations

import matplotlib as mpl

__all__ = ["use_book_style"]

#: Matplotlib settings for every figure of the book. Figures are drawn at the width of the
#: page's text column (about 750 px at 100 dpi) so that their fonts stay readable.
BOOK_STYLE = {
    "figure.figsize": (7.5, 4.2),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (`BOOK_STYLE`) to every figure drawn afterwards.

    Used in: every chapter with a figure.
    """
    mpl.rcParams.update(BOOK_STYLE)
