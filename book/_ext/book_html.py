"""Small fixes to the book's HTML, as a local Sphinx extension (see `_config.yml`).

The theme and the box extensions are used as they are; what they get wrong is mended here,
in three places: the page context before a page is rendered, the doctree before it is written,
and the written files once the build has finished. The runtime half lives in
`book/_static/book_html.js` and `book/_static/book_html.css`, which this extension adds to
every page.

Console
- One inline script is emitted twice: sphinx-thebe 0.3.1 adds `const THEBE_JS_URL = ...` from
  an `env-before-read-docs` handler, and the asset reaches the page twice. The second
  `const` declaration throws a SyntaxError in every browser console. Here every page keeps
  only the first copy of each inline script body.

Downloads
- The theme's download menu links to the page's notebook or Markdown source with
  `target="_blank"` and no `download` attribute, so a browser shows the file in a new tab
  whenever the server calls it JSON or text, and always when the book is opened from disk.
  Every download link gets `download="<file name>"` and loses its target. Chromium ignores
  `download` on file:// pages, so `book_html.js` delivers the file there itself: next to each
  downloadable file this extension writes `<file>.js`, a script holding the file in base64,
  which the page loads on a click (scripts load from file://, `fetch` does not) and saves
  under the file's own name.
- The same holds for the menu's PDFs (this page's and the whole book's, linked by
  `book_reader.py` once `book_pdf.py` has printed them) and for the sidebar's links to both
  editions of the whole book (class `book-pdf-download`): they save from a server and from
  disk.
  Their copies for file:// roughly double what the PDFs take on disk (base64).

Valid, accessible HTML
- Repeated ids. sphinx-proof gives every box body `id="proof-content"` and every proof box
  `id="proof"` (clashing with a "Proof" section), sphinx-exercise every body
  `id="exercise-content"` / `id="solution-content"`: these generic ids are dropped (no link
  targets them; sphinx-proof's one rule on `div#proof` is applied by the class `prf-proof`
  instead, in `book_html.css`). An unnumbered statement box repeats its label's id on its
  title: the title's copy is dropped once the page is rendered (sphinx-proof needs it while
  writing).
- References: docutils marks each entry of a citation list `role="doc-biblioentry"`, a
  deprecated role that is not a list item, inside `role="list"` (axe: a critical
  aria-required-children). Entries become `role="listitem"`.
- The primary sidebar's title link and search button sat outside every landmark (axe:
  region, moderate); the sidebar is marked as the book's navigation (`aria-label="Book"`).
- Links in the tinted statement, exercise and solution boxes were a shade too light for
  their background (axe: color-contrast); `book_html.css` darkens them slightly there.
- Code cells wider than the column need a tab stop (axe: scrollable-region-focusable). The
  theme sets them on `load` and, debounced, on resize, which misses cells that overflow only
  once the sidebars' CSS transitions have moved the column's edge (intermittent, at desktop
  width); `book_html.js` sets them again once fonts, MathJax and every transition are done.
- pydata-sphinx-theme's `styles/theme.css` is one `@import "../basic.css"`, which axe-core's
  stylesheet loader resolves to `/basic.css`, a 404; the import also costs a serial request.
  `styles/theme.css` is written with basic.css's rules in place of the import.
- In dark mode the statements index (prf-prf.html) kept basic.css's light grey letter rows
  under light text (axe: color-contrast, serious); `book_html.css` gives them the theme's
  surface colour.
- sphinx-proof puts a statement's name in parentheses, so a name ending in a parenthesis of
  its own nested them ("Lemma 3.1 (The core head (our version of the paper's Lemma 3))"); the
  inner one follows the name instead ("Lemma 3.1 (The core head): our version of ...").
- A paragraph of bold text alone reads as a heading; it gets the class `book-bold-heading`,
  which print keeps with what follows, as it keeps headings (`book_reader.css`).
- Captions are numbered "Figure 6.2: ..." (Sphinx writes "Figure 6.2 ...", and numfig_format
  would put the colon into every reference to the figure too); statement and exercise titles
  keep their own form ("Definition 1.1 (Name)", "Exercise 1.1").
- Every figure links to its own image file, and a tap opens it at full resolution.
- Phones get their own rendering of each figure. On a phone the column shows a figure at
  about half its size, its smallest text near 5.5 pt. `prefix_approx.use_book_style` stores,
  in each figure output's metadata, a second PNG laid out for a phone's column
  (`prefix_approx.phone_version`). Here that PNG is written beside the figure's image
  (`_images/<hash>-phone.png`), and the image becomes a `<picture>` whose source shows it
  under `prefix_approx.plotting.PHONE_MEDIA`. Print and wider screens keep the column
  rendering.
- sphinx-proof's statements index, `prf-prf.html`, lists labels and is linked from nowhere:
  it becomes a redirect to the results map, the book's index of statements.
- The site's root `index.html` is Jupyter Book's bare redirect to the first chapter, with no
  icon link, so a browser asks the server for `/favicon.ico` and gets a 404 (intermittently:
  only when it asks before the redirect). The book's favicon is written there as an ICO
  (Pillow, which matplotlib installs).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from docutils import nodes
from sphinx.application import Sphinx

from prefix_approx.plotting import PHONE_MEDIA

STATIC = Path(__file__).resolve().parent.parent / "_static"

# --- the console -------------------------------------------------------------------------


def _drop_repeated_inline_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[str] = set()
    kept = []
    for script in scripts:
        body = getattr(script, "attributes", {}).get("body")
        if body:
            if body in seen:
                continue
            seen.add(body)
        kept.append(script)
    context["script_files"] = kept


# --- downloads -----------------------------------------------------------------------------


# The theme's download menu (sphinx-book-theme 1.3) marks each entry `btn-download-<what>-button`:
# the notebook, the source, and (book_reader.py) this page's PDF and the whole book's.
# An anchor of the download menu, as sphinx-book-theme's `render_link_button` writes it.
_DOWNLOAD_ANCHOR = re.compile(
    r'<a\s[^>]*\bclass="[^"]*\b(?:btn-download-[a-z-]+-button|book-pdf-download)\b[^"]*"[^>]*>'
)
_HREF = re.compile(r'\shref="([^"]*)"')
_TARGET = re.compile(r'\s+target="[^"]*"')


def _make_download_links(text: str, page: Path, outdir: Path) -> tuple[str, set[Path]]:
    """Give every download-menu anchor `download="<name>"` and no target; return the files."""
    files: set[Path] = set()

    def fix(match: re.Match[str]) -> str:
        tag = match.group(0)
        href = _HREF.search(tag)
        if not href:
            return tag
        url = html.unescape(href.group(1))
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path:
            return tag  # not a file of this site: nothing to save from here
        target = (page.parent / unquote(parts.path)).resolve()
        if outdir.resolve() not in target.parents:
            return tag
        files.add(target)
        tag = _TARGET.sub("", tag)
        if " download=" not in tag:
            name = html.escape(PurePosixPath(unquote(parts.path)).name, quote=True)
            tag = tag.replace(href.group(0), f'{href.group(0)} download="{name}"', 1)
        return tag

    return _DOWNLOAD_ANCHOR.sub(fix, text), files


def _write_file_url_scripts(files: set[Path]) -> None:
    """Write `<file>.js` next to each downloadable file: the file, for book_html.js on file://."""
    for path in sorted(files):
        if not path.is_file():
            continue
        script = path.with_name(path.name + ".js")
        if script.exists() and script.stat().st_mtime >= path.stat().st_mtime:
            continue
        payload = base64.b64encode(path.read_bytes()).decode("ascii")
        script.write_text(
            "/* The file beside this one, for book_html.js to save when the book is read from "
            "disk. */\n"
            f"window.bookHtmlDeliver({json.dumps(path.name)}, {json.dumps(payload)});\n",
            encoding="utf-8",
        )


# --- valid, accessible HTML -------------------------------------------------------------

# Ids that sphinx-proof and sphinx-exercise put on every box of a kind.
_GENERIC_BODY_IDS = {"proof-content", "exercise-content", "solution-content"}


def _drop_generic_box_ids(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html":
        return
    for node in doctree.findall(nodes.Element):
        ids = node.get("ids", [])
        if isinstance(node, nodes.section) and ids and set(ids) <= _GENERIC_BODY_IDS:
            node["ids"] = []
        elif (
            isinstance(node, nodes.admonition)
            and ids == ["proof"]
            and "proof" in node.get("classes", [])
        ):
            # sphinx-proof's proof box (ProofDirective): styled by `div#proof`, now by class.
            node["ids"] = []
            node["classes"].append("prf-proof")


_TITLE_ID = re.compile(r'<p class="admonition-title" id="([^"]+)">')


def _fix_body(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    body = context.get("body")
    if not body:
        return

    def drop_repeated_title_id(match: re.Match[str]) -> str:
        if body.count(f'id="{match.group(1)}"') > 1:
            return '<p class="admonition-title">'
        return match.group(0)

    body = _TITLE_ID.sub(drop_repeated_title_id, body)
    body = _NESTED_TITLE.sub(_unnest_title, body)
    body = body.replace('role="doc-biblioentry"', 'role="listitem"')
    body = _BOLD_PARAGRAPH.sub(r'<p class="book-bold-heading">\1</p>', body)
    body = _CAPTION_NUMBER.sub(r"\1: </span>\2", body)
    phones = _write_phone_figures(app, pagename)
    body = _IMAGE.sub(lambda match: _link_image_to_itself(match, phones), body)
    context["body"] = body


# A statement's title whose name ends with a parenthesis of its own: sphinx-proof wraps the
# name in parentheses, "Lemma 3.1 (The core head (our version of the paper's Lemma 3))".
_NESTED_TITLE = re.compile(
    r'(<p class="admonition-title"[^>]*><span class="caption-number">[^<]*</span>\s*)'
    r"\(((?:(?!</p>).)*?)\s*\(([^()<>]*)\)\)</p>",
    re.S,
)


def _unnest_title(match: re.Match[str]) -> str:
    """ "Lemma 3.1 (The core head (our version of ...))" becomes "Lemma 3.1 (The core head):
    our version of ...", the provenance after the name."""
    head, name, provenance = match.groups()
    return f'{head}({name})<span class="book-provenance">: {provenance}</span></p>'


# A paragraph of bold text alone (a module's name in the package catalogue) reads as a heading;
# print keeps it with what follows (book_reader.css) by this class.
_BOLD_PARAGRAPH = re.compile(r"<p>(<strong>(?:(?!</strong>|</p>).)*</strong>:?)</p>", re.S)

# Sphinx writes a caption's number as "Figure 6.2 " and the caption after it; the book's
# captions read "Figure 6.2: ...", as readers of papers expect. Only a caption's number, which
# the caption's text follows: a statement box's title keeps sphinx-proof's "Definition 1.1
# (Name)" and an exercise's its bare "Exercise 1.1" (a colon there left "Definition 1.1: (Name)"
# and a dangling "Exercise 1.1:").
_CAPTION_NUMBER = re.compile(
    r'(<span class="caption-number">[^<]*\d) </span>(<span class="caption-text">)'
)

# A figure (an image the build wrote to _images/) not already inside a link.
_IMAGE = re.compile(r'(<a\s[^>]*>\s*)?(<img\s[^>]*\bsrc="([^"]*_images/[^"]+)"[^>]*>)')


def _write_phone_figures(app: Sphinx, pagename: str) -> set[str]:
    """Write the phone rendering of each figure of the page's notebook beside the figure's
    image, as `_images/<hash>-phone.png` (hash: the figure image's name); return the hashes.

    The notebook is the executed copy when the build executed it, else the source."""
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    source = Path(app.srcdir) / f"{pagename}.ipynb"
    notebook = executed if executed.is_file() else source
    if not notebook.is_file():
        return set()
    images = Path(app.outdir) / "_images"
    written = set()
    for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            recorded = output.get("metadata", {}).get("image/png", {}).get("prefix_approx", {})
            phone = recorded.get("phone", {}).get("png")
            if not (png and phone):
                continue
            digest = hashlib.sha256(base64.b64decode(png)).hexdigest()
            images.mkdir(parents=True, exist_ok=True)
            (images / f"{digest}-phone.png").write_bytes(base64.b64decode(phone))
            written.add(digest)
    return written


def _link_image_to_itself(match: re.Match[str], phones: set[str]) -> str:
    """Wrap a figure in a link to its own file (a tap opens it at full resolution), and show
    its phone rendering, where there is one, under `PHONE_MEDIA`."""
    if match.group(1):
        return match.group(0)
    image, src = match.group(2), match.group(3)
    path = PurePosixPath(src)
    if path.stem in phones:
        phone = html.escape(str(path.with_name(f"{path.stem}-phone.png")), quote=True)
        image = f'<picture><source media="{PHONE_MEDIA}" srcset="{phone}">{image}</picture>'
    return (
        f'<a class="reference internal image-reference book-figure-full" href="{src}"'
        ' title="Open the figure at full resolution">'
        f"{image}</a>"
    )


_PRIMARY_SIDEBAR = '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">'
_PRIMARY_SIDEBAR_FIXED = (
    '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar" role="navigation" '
    'aria-label="Book">'
)


def _inline_theme_css_import(outdir: Path) -> None:
    theme_css = outdir / "_static" / "styles" / "theme.css"
    basic_css = outdir / "_static" / "basic.css"
    if not (theme_css.is_file() and basic_css.is_file()):
        return
    text = theme_css.read_text(encoding="utf-8")
    if '@import "../basic.css";' not in text:
        return
    rules = basic_css.read_text(encoding="utf-8")
    # basic.css's relative url()s are relative to _static/, theme.css sits in _static/styles/.
    rules = re.sub(
        r"url\((?!['\"]?(?:data:|[a-z]+://|/))(['\"]?)",
        lambda m: f"url({m.group(1)}../",
        rules,
    )
    inlined = "/* basic.css, inlined by book_html.py */\n" + rules
    theme_css.write_text(text.replace('@import "../basic.css";', inlined), encoding="utf-8")


def _fix_written_pages(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    files: set[Path] = set()
    for page in outdir.rglob("*.html"):
        if page.relative_to(outdir).parts[0] in {"_static", "_sources", "_images"}:
            continue
        text = page.read_text(encoding="utf-8")
        fixed, found = _make_download_links(text, page, outdir)
        files |= found
        fixed = fixed.replace(_PRIMARY_SIDEBAR, _PRIMARY_SIDEBAR_FIXED)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")
    _write_file_url_scripts(files)
    _inline_theme_css_import(outdir)
    _write_root_favicon(app, outdir)
    _redirect_statements_index(outdir)


def _redirect_statements_index(outdir: Path) -> None:
    """sphinx-proof's statements index (prf-prf.html) lists labels ("lem-core-head"), not
    numbers or titles, and no page links to it; the results map is the book's index of
    statements. The page becomes a redirect to it, like the site's root index.html."""
    index, target = outdir / "prf-prf.html", outdir / "book" / "results_map.html"
    if index.is_file() and target.is_file():
        index.write_text(
            '<meta http-equiv="Refresh" content="0; url=book/results_map.html" />\n',
            encoding="utf-8",
        )


def _write_root_favicon(app: Sphinx, outdir: Path) -> None:
    """Write the configured favicon as `favicon.ico` at the site's root (see the docstring)."""
    favicon = app.config.html_favicon
    if not favicon or "://" in favicon:
        return
    source = Path(app.confdir) / favicon
    if not source.is_file():
        raise FileNotFoundError(f"html_favicon {favicon!r} not found at {source}")
    from PIL import Image

    with Image.open(source) as image:
        image.save(outdir / "favicon.ico", format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])


def _add_static_path(app: Sphinx, config: Any) -> None:
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _add_static_path)
    app.add_css_file("book_html.css", priority=900)
    app.add_js_file("book_html.js", priority=900, defer="defer")
    app.connect("doctree-resolved", _drop_generic_box_ids)
    app.connect("html-page-context", _drop_repeated_inline_scripts, priority=900)
    app.connect("html-page-context", _fix_body, priority=900)
    app.connect("build-finished", _fix_written_pages, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
