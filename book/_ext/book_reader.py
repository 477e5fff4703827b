"""What a reader of the site meets, as a local Sphinx extension (see `_config.yml`).

- The visible sidebar toggles work. Both themes bind their handlers to the first
  `.primary-toggle` (and `.secondary-toggle`) of the page. pydata-sphinx-theme 0.17 fills the
  top bar, which sphinx-book-theme 1.3 leaves empty, with a search box unless
  `navbar_persistent` is set, and that bar brings hidden toggles that come first: the visible
  ones, in the article header, did nothing. `_config.yml` sets `navbar_persistent: []` (the
  bar, and its second search box, are gone); `book/_static/book_reader.js` hands a tap on any
  toggle to the first one in case a top bar comes back.
- `book/_static/book_reader.css`: wide display math, tables, code and outputs scroll inside the
  article, with a scrollbar drawn, instead of running off it or being cut; figures on a light
  card in dark mode; print rules (solutions open, hidden code cells and buttons left out, long
  code lines wrapped, chapters on new pages) for the PDFs and for a reader's own printing.
- The book as PDF. After an HTML build, `book_pdf.py` (next to this file) prints every page of
  the site to `pdf/<page>.pdf` and the whole book, in both editions, to `pdf/<book>.pdf` and
  `pdf/<book>-student.pdf` (each opening with a title page and a contents page with page
  numbers), with Chromium. Each page's download menu then offers its own PDF
  and the whole book's, and the primary sidebar links both editions of the book. The PDFs are
  built, and linked, only where Chromium and Playwright are installed (the site tests need them
  too) and `book_pdf` is true; elsewhere the menu keeps the theme's print button.
- `singlehtml`, the builder the whole-book PDF is printed from, gets the `html` builder's node
  handlers: sphinx-exercise 1.2 registers handlers for `singlehtml` by name, after which Sphinx
  ignores every other extension's `html` handlers there (`unknown node type: HiddenCellNode`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import book_pdf  # next to this file: Jupyter Book puts local extensions' folder on sys.path
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx_exercise.directive import SolutionStartDirective
from sphinx_exercise.nodes import solution_end_node

HERE = Path(__file__).resolve().parent

STATIC = HERE.parent / "_static"
TEMPLATES = HERE.parent / "_templates"
logger = logging.getLogger(__name__)


def _add_paths(app: Sphinx, config: Config) -> None:
    for paths, folder in ((config.html_static_path, STATIC), (config.templates_path, TEMPLATES)):
        if str(folder) not in paths:  # book_html adds book/_static too
            paths.append(str(folder))


def _pdf_enabled(app: Sphinx) -> bool:
    """Whether this build makes (and links) the PDFs: an HTML build, asked for, and possible."""
    if app.builder.name != "html" or not app.config.book_pdf:
        return False
    if os.environ.get("PREFIX_APPROX_BUILD_PDF") == "0":
        return False
    missing = book_pdf.missing_tools()
    if missing:
        logger.info("[book_reader] no PDFs in this build: %s", missing)
        return False
    return True


def _builder_inited(app: Sphinx) -> None:
    if app.builder.name == "singlehtml":
        handlers = app.registry.translation_handlers
        single = handlers.setdefault("singlehtml", {})
        for node, visit_depart in handlers.get("html", {}).items():
            single.setdefault(node, visit_depart)
    app.builder.book_pdf_enabled = _pdf_enabled(app)  # type: ignore[attr-defined]


def _book_pdfs(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """The sidebar's links to the whole book (before the theme drops empty sidebar items)."""
    if not getattr(app.builder, "book_pdf_enabled", False):
        return
    pathto = context["pathto"]
    name = app.config.book_pdf_name
    context["book_pdfs"] = [
        ("The book as PDF (with solutions)", pathto(f"{book_pdf.PDF_DIR}/{name}.pdf", 1)),
        ("Student edition PDF (no solutions)", pathto(f"{book_pdf.PDF_DIR}/{name}-student.pdf", 1)),
    ]


def _download_menu(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """The download menu's ".pdf": this page's PDF, not window.print(); and the whole book's."""
    if not context.get("book_pdfs") or pagename not in app.env.found_docs:
        return
    page_pdf = context["pathto"](f"{book_pdf.PDF_DIR}/{book_pdf.page_pdf_name(pagename)}", 1)
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        buttons = [b for b in group["buttons"] if b.get("label") != "download-pdf-button"]
        buttons.append(
            {
                "type": "link",
                "url": page_pdf,
                "text": ".pdf",
                "tooltip": "This page as PDF",
                "icon": "fas fa-file-pdf",
                "label": "download-pdf-button",
            }
        )
        buttons.append(
            {
                "type": "link",
                "url": context["book_pdfs"][0][1],
                "text": "book .pdf",
                "tooltip": "The whole book as PDF",
                "icon": "fas fa-book",
                "label": "download-book-pdf-button",
            }
        )
        group["buttons"] = buttons


def _build_pdfs(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or not getattr(app.builder, "book_pdf_enabled", False):
        return
    pages = [d for d in _toc_order(app) if d in app.env.found_docs]
    book_pdf.build_all(
        root=Path(app.confdir),
        site=Path(app.outdir),
        pages=pages,
        name=app.config.book_pdf_name,
        log=lambda message: logger.info("[book_reader] %s", message),
    )


def _toc_order(app: Sphinx) -> list[str]:
    """Every page reachable from the root document, in reading order."""
    seen: list[str] = []

    def walk(doc: str) -> None:
        if doc in seen:
            return
        seen.append(doc)
        for child in app.env.toctree_includes.get(doc, []):
            walk(child)

    walk(app.config.root_doc)
    return seen


class _HiddenSolution(nodes.Element):
    """Marks where a gated solution began in an edition without solutions."""


class _SolutionStartWhenHidden(SolutionStartDirective):
    """`solution-start` that leaves a marker when solutions are hidden. sphinx-exercise 1.2.1
    returns nothing for it then but keeps the `solution-end` node, so the solution's code
    cells stayed in the student edition and the end node broke the singlehtml writer."""

    def run(self) -> list[nodes.Node]:
        result = super().run()
        return [_HiddenSolution()] if self.env.app.config.hide_solutions else result


class _DropHiddenSolutions(SphinxTransform):
    """With hide_solutions: remove each marker, everything after it up to its solution-end,
    and the solution-end itself (before sphinx-exercise merges gated directives)."""

    default_priority = 5

    def apply(self) -> None:
        if not self.config.hide_solutions:
            return
        for marker in list(self.document.findall(_HiddenSolution)):
            parent = marker.parent
            start = parent.index(marker)
            end = next(
                (
                    i
                    for i in range(start + 1, len(parent.children))
                    if isinstance(parent.children[i], solution_end_node)
                ),
                start,
            )
            for child in parent.children[start : end + 1]:
                parent.remove(child)


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx_exercise")  # its directive is replaced below, so load it first
    app.add_node(_HiddenSolution)
    app.add_directive("solution-start", _SolutionStartWhenHidden, override=True)
    app.add_transform(_DropHiddenSolutions)
    app.add_config_value("book_pdf", True, "html", bool)
    app.add_config_value("book_pdf_name", "book", "html", str)
    app.add_config_value("book_pdf_paper", "", "html", str)  # the title page's credit line
    app.connect("config-inited", _add_paths)
    app.connect("builder-inited", _builder_inited)
    app.connect("html-page-context", _book_pdfs, priority=400)  # before the theme's templates
    app.connect("html-page-context", _download_menu, priority=600)  # after its buttons
    app.connect("build-finished", _build_pdfs)
    app.add_css_file("book_reader.css", priority=900)
    app.add_js_file("book_reader.js", priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
