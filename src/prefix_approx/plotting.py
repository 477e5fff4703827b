"""The book's figure style: one look for every chapter, sized for the page and the phone.

Every figure is drawn `COLUMN_WIDTH_IN` inches wide at `DPI` dots per inch, so that the page
shows it at one scale: in the 784-pixel text column of a desktop browser, 1 pt of figure text
is about 1.7 CSS pixels, and the smallest text of the style (`MIN_FONT_PT`) stays above 9 pt.
Multi-panel figures stack their panels (at most two side by side) so a phone can read them.

A phone's column (about 340 CSS px at 390 px) shows such a figure at half that scale, its
text near 5.5 pt. So every notebook figure is drawn a second time for phones
(`phone_version`): `PHONE_WIDTH_IN` inches wide, with panels that stood side by side stacked,
and the book's HTML shows that rendering below `PHONE_MEDIA` (a `<picture>` source, added by
`book/_ext/book_html.py`), where its smallest text stays at 9 pt or more down to 360 px.

In a notebook, `use_book_style` also records, beside each PNG a figure is shown as, the size
of its smallest text (`smallest_text_pt`) and its resolution, in the output's metadata
(`"prefix_approx": {"min_text_pt": ..., "dpi": ..., "phone": {"png": ..., "min_text_pt": ...,
"dpi": ...}}`, the phone PNG in base64): the site tests read them to measure, in the browser,
how large the smallest text of every figure is on the page at each width.
"""

from __future__ import annotations

import base64
import io
import numbers
import pickle
import warnings
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

__all__ = [
    "COLUMN_WIDTH_IN",
    "DPI",
    "MIN_FONT_PT",
    "PHONE_MEDIA",
    "PHONE_WIDTH_IN",
    "figure_legend",
    "figure_size",
    "panel_legend",
    "phone_version",
    "smallest_text_pt",
    "use_book_style",
]

#: Width of every figure, in inches: the text column of the book's pages.
COLUMN_WIDTH_IN = 6.4

#: Resolution of the PNG figures (sharp on high-density screens and in print).
DPI = 200

#: The smallest font size the style uses, in points (ticks and legends).
MIN_FONT_PT = 10

#: Width of the phone rendering of every figure, in inches. Its PNG is at most 0.2 inch wider
#: (matplotlib-inline's tight bounding box pads 0.1 inch each side): about 703 pixels at `DPI`.
#: In a column c CSS px wide, text of `MIN_FONT_PT` is then 0.75 * MIN_FONT_PT * DPI / 72 * c /
#: 703 pt: 9.2 pt at c = 312 (a 360 px phone), 10.1 pt at c = 342 (390 px).
PHONE_WIDTH_IN = 3.4

#: The media query under which pages show the phone rendering. Under 992 px the column is the
#: viewport less 48 px, and the desktop rendering's smallest text drops under 9 pt below a
#: 611 px viewport; 640 px leaves a margin. Print keeps the desktop rendering.
PHONE_MEDIA = "screen and (max-width: 640px)"

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
    return _smallest_drawn_text_pt(fig)


def _smallest_drawn_text_pt(fig: Figure) -> float:
    """`smallest_text_pt` of a figure just drawn (its tick labels exist): no second draw."""
    sizes = [
        float(text.get_fontsize())
        for text in fig.findobj(Text)
        if isinstance(text, Text) and text.get_visible() and text.get_text().strip()
    ]
    if not sizes:
        raise ValueError("the figure has no visible text")
    return min(sizes)


def phone_version(fig: Figure) -> Figure:
    """A copy of `fig` laid out for a phone's column. `fig` itself is not changed.

    The copy is `PHONE_WIDTH_IN` inches wide. Panels that stood side by side are stacked (their
    tick labels shown again); titles wrap at the figure's edge; legends of `figure_legend` are
    made again in as many columns as fit the width, and legends of `panel_legend` move under
    their panel. Its height is 0.8 of `fig`'s per stacked row of the original grid, so panels
    keep about their proportions, plus the height the legends gained.

    The copy is made by pickling, and closed in pyplot at once (it is never shown by itself).
    Raises TypeError for anything but a matplotlib Figure.

    Used in: no chapter by name (`use_book_style` records it beside every notebook figure).
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}")
    import matplotlib.pyplot as plt

    phone = pickle.loads(pickle.dumps(fig))
    plt.close(phone)  # an unpickled pyplot figure registers itself with pyplot
    stacked = _stack_side_by_side_panels(phone)
    height = 0.8 * float(fig.get_size_inches()[1]) * stacked
    phone.set_size_inches(PHONE_WIDTH_IN, height)
    for ax in phone.axes:
        ax.title.set_wrap(True)
    beside = [
        (ax, legend, legend._book_panel_legend_arguments)
        for ax in phone.axes
        if (legend := ax.get_legend()) is not None
        and hasattr(legend, "_book_panel_legend_arguments")
    ]
    for _, legend, _ in beside:
        legend.remove()
    grown = sum(_refit_figure_legend(phone, legend) for legend in list(phone.legends))
    phone.draw_without_rendering()  # where tick labels and x labels hang, without side legends
    grown += sum(_legend_below(phone, ax, arguments) for ax, _, arguments in beside)
    phone.set_size_inches(PHONE_WIDTH_IN, round(height + grown, 2))
    return phone


def _stack_side_by_side_panels(fig: Figure) -> int:
    """Move panels of an R x C grid (C > 1) into an RC x 1 grid, row by row; return the
    largest C (1 if nothing moved). Colorbars and insets follow their parents."""
    stacked, columns = 1, dict[int, GridSpec]()
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is None:
            continue  # a colorbar's or an inset's axes: placed by its parent
        grid = spec.get_gridspec()
        rows, cols = grid.get_geometry()
        if cols == 1:
            continue
        stacked = max(stacked, cols)
        column = columns.setdefault(id(grid), GridSpec(rows * cols, 1, figure=fig))
        first, last = spec.rowspan, spec.colspan
        ax.set_subplotspec(
            column[first.start * cols + last.start : (first.stop - 1) * cols + last.stop]
        )
        ax.tick_params(labelleft=True, labelbottom=True)
    return stacked


def figure_legend(fig: Figure, *, ncols: int = 1, **kwargs: Any) -> Legend:
    """A figure legend below the panels (`loc="outside lower center"`, for a figure with
    constrained layout), in `ncols` columns; `kwargs` go to `Figure.legend` (handles, labels,
    title, ...). The phone rendering (`phone_version`) lays it out again in as many columns as
    fit the phone's width, which is why chapters make their figure legends here.

    Raises TypeError for anything but a matplotlib Figure, a column count that is not an int,
    or a `loc` or `ncol` (the place is fixed); ValueError for a count outside 1..10.

    Used in: book/attention_prefixes_prompts.ipynb, book/corollary2_elementwise.ipynb,
    book/kolmogorov_arnold.ipynb, book/lemma3_core_head.ipynb,
    book/seq2seq_universality.ipynb, book/sphere_nets.ipynb.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}")
    if isinstance(ncols, bool | np.bool_) or not isinstance(ncols, numbers.Integral):
        raise TypeError(f"ncols must be an int; got {type(ncols).__name__} {ncols!r:.80}")
    if not 1 <= ncols <= 10:
        raise ValueError(f"ncols must be between 1 and 10; got {ncols}")
    if "loc" in kwargs or "ncol" in kwargs:
        raise TypeError("figure_legend places the legend below the panels: pass no loc or ncol")
    legend = fig.legend(loc="outside lower center", ncols=int(ncols), **kwargs)
    legend._book_legend_arguments = {"ncols": int(ncols), **kwargs}
    return legend


def panel_legend(ax: Axes, **kwargs: Any) -> Legend:
    """A panel's legend beside it, to the right of the axes (`loc="center left"`, anchored just
    outside); `kwargs` go to `Axes.legend` (handles, labels, title, ...). The phone rendering
    (`phone_version`) moves it under the panel, in as many columns as fit, which is why
    chapters make their side legends here.

    Raises TypeError for anything but matplotlib Axes, or for a `loc`, `bbox_to_anchor`,
    `bbox_transform`, `ncol` or `ncols` (the place is fixed).

    Used in: book/attention_prefixes_prompts.ipynb, book/theorem1_density.ipynb,
    book/theorem4_jackson_bounds.ipynb.
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be matplotlib Axes; got {type(ax).__name__}")
    fixed = {"loc", "bbox_to_anchor", "bbox_transform", "ncol", "ncols"} & set(kwargs)
    if fixed:
        raise TypeError(f"panel_legend places the legend itself: pass no {sorted(fixed)}")
    legend = ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), **kwargs)
    legend._book_panel_legend_arguments = dict(kwargs)  # type: ignore[attr-defined]
    return legend


def _widest_fitting(make: Any, most: int, width: float) -> Legend:
    """`make(ncols)` for the largest ncols <= `most` whose legend is at most `width` display
    pixels wide (1 column if none is); the legends tried and refused are removed.

    matplotlib packs a legend's entries once, when it is made (`set_ncols` alone changes
    nothing drawn), so each column count is a new legend.
    """
    for ncols in range(max(most, 1), 1, -1):
        legend = make(ncols)
        if legend.get_window_extent().width <= width:
            return legend
        legend.remove()
    return make(1)


def _refit_figure_legend(fig: Figure, legend: Legend) -> float:
    """Make a legend of `figure_legend` again in as many columns as fit `fig`'s width; return
    how much taller it became, in inches. Other figure legends are left as they are (the site
    tests measure what that gives)."""
    arguments = getattr(legend, "_book_legend_arguments", None)
    if arguments is None:
        return 0.0
    before = legend.get_window_extent().height
    legend.remove()
    refit = _widest_fitting(
        lambda n: figure_legend(fig, **{**arguments, "ncols": n}),
        arguments["ncols"],
        fig.bbox.width,
    )
    return max(0.0, (refit.get_window_extent().height - before) / fig.dpi)


def _legend_below(fig: Figure, ax: Axes, arguments: dict[str, Any]) -> float:
    """Make a legend of `panel_legend` again under its panel, below the tick labels and the
    x label, centred on the figure, in as many columns (at most 3) as fit `fig`'s width; return
    its height in inches.

    The anchor sits a fixed distance, in inches, under the axes (a transform offset by the
    height of what hangs below them, measured at the last draw), so it stays put when
    constrained layout resizes the axes to make room for the legend.
    """
    hanging = ax.get_tightbbox()
    below = (ax.bbox.y0 - (ax.bbox.y0 if hanging is None else hanging.y0)) / fig.dpi + 0.05
    # Centred on the figure (not on the axes, which a y label pushes right), under the axes.
    under = blended_transform_factory(fig.transFigure, ax.transAxes)
    anchor = under + ScaledTranslation(0, -below, fig.dpi_scale_trans)
    place: dict[str, Any] = {
        "loc": "upper center",
        "bbox_to_anchor": (0.5, 0.0),
        "bbox_transform": anchor,
    }
    legend = _widest_fitting(lambda n: ax.legend(ncols=n, **place, **arguments), 3, fig.bbox.width)
    return legend.get_window_extent().height / fig.dpi + 0.1


def _png_of(fig: Figure) -> bytes:
    """The PNG that matplotlib-inline would show for `fig` (tight bounding box)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    return buffer.getvalue()


def _sizes_and_phone_rendering(fig: Figure) -> dict[str, Any]:
    """What `use_book_style` records beside a figure's PNG (see the module's docstring). Both
    figures were just drawn, for their PNGs: their texts are measured as they are."""
    phone = phone_version(fig)
    phone_png = _png_of(phone)
    return {
        "min_text_pt": _smallest_drawn_text_pt(fig),
        "dpi": fig.dpi,
        "phone": {
            "png": base64.b64encode(phone_png).decode("ascii"),
            "min_text_pt": _smallest_drawn_text_pt(phone),
            "dpi": phone.dpi,
        },
    }


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
        try:
            recorded = _sizes_and_phone_rendering(fig)
        except Exception as error:
            # IPython drops a figure whose printer raises, without a word: keep the figure and
            # say what is missing (nbval sees the warning; the site tests, the missing record).
            warnings.warn(
                f"figure shown without its text sizes and phone rendering: {error!r}",
                stacklevel=2,
            )
            return data
        metadata = {"prefix_approx": recorded}
        if isinstance(data, tuple):
            data, more = data
            metadata = {**(more or {}), **metadata}
        return data, metadata

    print_png.records_text_sizes = True  # type: ignore[attr-defined]
    formatter.for_type(Figure, print_png)
