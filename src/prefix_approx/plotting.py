"""The book's figure style: one look for every chapter, sized for the page and the phone.

Every figure is drawn `COLUMN_WIDTH_IN` inches wide at `DPI` dots per inch, so that the page
shows it at one scale: in the 784-pixel text column of a desktop browser, 1 pt of figure text
is about 1.7 CSS pixels, and the smallest text of the style (`MIN_FONT_PT`) stays above 9 pt.
Multi-panel figures stack their panels (at most two side by side) so a phone can read them.

In a notebook, `use_book_style` also records, beside each PNG a figure is shown as, the size
of its smallest text (`smallest_text_pt`) and its resolution, in the output's metadata
(`"prefix_approx": {"min_text_pt": ..., "dpi": ...}`): the site tests read them to measure, in
the browser, how large the smallest text of every figure is on the page.
"""

from __future__ import annotations

import numbers
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = [
    "COLUMN_WIDTH_IN",
    "DPI",
    "MIN_FONT_PT",
    "figure_size",
    "smallest_text_pt",
    "use_book_style",
]

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

    Raises ValueError for more than two panels side by side (unreadable on a phone), a count
    outside 1..20 or a height outside (0, 20] inches (NaN included); TypeError for a count that is
    not an int or a height that is not a number.

    Used in: book/attention_prefixes_prompts.ipynb, book/beyond_saturation.ipynb,
    book/corollary2_elementwise.ipynb, book/kolmogorov_arnold.ipynb,
    book/lemma3_core_head.ipynb, book/prefix_mixing.ipynb, book/seq2seq_universality.ipynb,
    book/sphere_nets.ipynb, book/spherical_designs.ipynb, book/theorem1_density.ipynb,
    book/theorem4_jackson_bounds.ipynb.
    """
    for name, value in (("rows", rows), ("cols", cols)):
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an int; got {type(value).__name__} {value!r:.80}")
        if not 1 <= value <= 20:
            shown = value if abs(value) < 10**6 else "a huge integer"
            raise ValueError(f"{name} must be between 1 and 20; got {shown}")
    if cols > 2:
        raise ValueError(
            f"at most 2 panels side by side fit a phone's width; got cols={cols}: stack them"
        )
    if isinstance(panel_height, bool | np.bool_) or not isinstance(panel_height, numbers.Real):
        raise TypeError(f"panel_height must be a number of inches; got {panel_height!r:.80}")
    if not 0 < panel_height <= 20:
        shown = repr(panel_height) if len(repr(panel_height)) < 40 else "a huge number"
        raise ValueError(f"panel_height must be in (0, 20] inches; got {shown}")
    rows, cols, panel_height = int(rows), int(cols), float(panel_height)
    height = panel_height * rows * (1.0 if cols == 1 else 0.85)
    return (COLUMN_WIDTH_IN, round(height, 2))


def use_book_style() -> None:
    """Apply the book's matplotlib style (`BOOK_STYLE`) to every figure drawn afterwards.

    Used in: book/attention_prefixes_prompts.ipynb, book/beyond_saturation.ipynb,
    book/corollary2_elementwise.ipynb, book/kolmogorov_arnold.ipynb,
    book/lemma3_core_head.ipynb, book/prefix_mixing.ipynb, book/seq2seq_universality.ipynb,
    book/sphere_nets.ipynb, book/spherical_designs.ipynb, book/theorem1_density.ipynb,
    book/theorem4_jackson_bounds.ipynb.
    """
    mpl.rcParams.update(BOOK_STYLE)  # type: ignore[arg-type]
    _record_text_sizes_in_notebook_figures()


def smallest_text_pt(fig: Figure) -> float:
    """The smallest font size, in points, of the visible non-empty texts of `fig`.

    The figure is drawn first (without rendering) so that tick labels exist. Texts that are
    not drawn because they fall outside an axis' view still count, so the result never
    overstates the smallest text. Raises TypeError for anything but a matplotlib Figure and
    ValueError for a figure without text.

    Used in: no chapter by name (`use_book_style` records it beside every notebook figure).
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}")
    fig.draw_without_rendering()
    sizes = [
        float(text.get_fontsize())
        for text in fig.findobj(Text)
        if isinstance(text, Text) and text.get_visible() and text.get_text().strip()
    ]
    if not sizes:
        raise ValueError("the figure has no visible text")
    return min(sizes)


def _record_text_sizes_in_notebook_figures() -> None:
    """Wrap IPython's PNG printer for figures so each PNG output carries its smallest text size
    and resolution in its metadata. Does nothing outside IPython or without a PNG printer."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the book's requirements
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    import matplotlib.pyplot  # noqa: F401  (selects the backend)

    formatter = shell.display_formatter.formatters["image/png"]
    backend = mpl.get_backend().lower()
    if Figure not in formatter.type_printers and backend.endswith("inline"):
        # matplotlib-inline registers its printers only after the cell that imported pyplot
        # has run; registering them now, with its own function, is what it would do then
        # (and it does not select the formats twice).
        from matplotlib_inline.backend_inline import configure_inline_support

        configure_inline_support(shell, "inline")
    try:
        printer = formatter.lookup_by_type(Figure)
    except KeyError:
        return
    if getattr(printer, "records_text_sizes", False):
        return

    def print_png(fig: Figure) -> Any:
        data = printer(fig)
        if data is None:
            return None
        metadata = {"prefix_approx": {"min_text_pt": smallest_text_pt(fig), "dpi": fig.dpi}}
        if isinstance(data, tuple):
            data, more = data
            metadata = {**(more or {}), **metadata}
        return data, metadata

    print_png.records_text_sizes = True  # type: ignore[attr-defined]
    formatter.for_type(Figure, print_png)
