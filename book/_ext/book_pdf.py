"""The book as PDF, printed offline by Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Called by the `book_reader` extension at the end of an HTML build, or on its own to redo the
PDFs of a built site:

    python book/_ext/book_pdf.py            # writes _build/html/pdf/

What it writes, under `<site>/pdf/`:

- `<page>.pdf` for every page of the site (`lemma3_core_head.pdf`, ...): the site's own page,
  printed with the book's print CSS, so numbers (chapter 3, Theorem 3.1, Figure 6.2) are the
  site's; solutions print open. This is the site's edition.
- `<name>.pdf` (with solutions) and `<name>-student.pdf` (without): the whole book, from a
  `singlehtml` build of the stored notebook outputs (no re-execution: the tests check those
  outputs) with sphinx-exercise's `hide_solutions` off and on. The one switch between the two
  editions is that setting; the site's own edition is `hide_solutions` in `_config.yml`.

The whole book opens with a title page (the book's title and authors from `_config.yml`, and
its edition, with or without solutions; no date, so two builds of one commit match) and a
contents page: every chapter with its number and the page it starts on. The pages are found by
printing the book once, reading where each chapter begins (`pdftotext`, from poppler-utils)
and printing it again with the numbers filled in; the numbers sit in boxes of a fixed width,
so both printings lay out alike. Without `pdftotext` the contents list the chapters without
pages.

Links to other pages of the site cannot work inside a chapter's PDF, so they print as plain
text; links within the printed page (and, in the whole book, between chapters) stay links.
"""

from __future__ import annotations

import argparse
import copy
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

PDF_DIR = "pdf"
CHROMIUM = os.environ.get("PREFIX_APPROX_CHROMIUM", "/usr/bin/chromium")
EDITIONS = {"": False, "-student": True}  # file suffix -> hide_solutions
STUDENT_NOTE = "Student edition: the solutions to the exercises are left out."
INSTRUCTOR_NOTE = "Instructor edition: with the solutions to the exercises."
# Pages whose outputs are measured by the build itself: the whole book, printed from the
# stored outputs, says so on them (their own PDF, printed from the site, holds this build's).
MEASURED_AT_BUILD = {
    "book/reproducibility": "In this PDF of the whole book, the figures below are the ones "
    "stored with the notebook, not re-measured by the build that printed it (the site's page, "
    "and its own PDF, hold the record of the build).",
}

PRINT_OPTIONS = {
    "format": "A4",
    "margin": {"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
    "print_background": True,
    "outline": True,  # PDF bookmarks from the headings
    "tagged": True,
    "display_header_footer": True,
    "header_template": "<span></span>",
    "footer_template": (
        '<div style="font-size:8px;width:100%;text-align:center;color:#555">'
        '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
    ),
}

# Run in each page before printing: light colours, MathJax done, images loaded, and links to
# anything but this page and the outside world turned into plain text.
PREPARE = """async ([note, measured]) => {
  document.documentElement.dataset.theme = "light";
  document.documentElement.dataset.mode = "light";
  if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
  await Promise.all([...document.images].map((img) => img.complete ? null :
    new Promise((done) => { img.onload = img.onerror = done; })));
  for (const a of [...document.querySelectorAll("a[href]")]) {
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin) continue;  // the outside world: keep
    if (url.pathname === location.pathname && url.hash) continue;  // within this page: keep
    const span = document.createElement("span");
    span.className = a.className;
    span.innerHTML = a.innerHTML;
    a.replaceWith(span);
  }
  // An equation wider than the page is scaled down to fit it (on screen it scrolls instead).
  for (const box of document.querySelectorAll("mjx-container[display='true']")) {
    const room = box.parentElement.clientWidth;
    if (box.scrollWidth > room + 1) box.style.zoom = (room / box.scrollWidth).toFixed(3);
  }
  const addNote = (title, text) => {
    if (!title) return;
    const p = document.createElement("p");
    p.className = "book-pdf-note";
    p.innerHTML = "<em>" + text + "</em>";
    title.after(p);
  };
  if (note) addNote(document.querySelector("article.bd-article h1"), note);
  for (const [doc, text] of Object.entries(measured)) {
    const start = document.getElementById("document-" + doc);
    const section = start && start.nextElementSibling;
    if (section) addNote(section.querySelector("h1, h2"), text);
  }
  return document.images.length;
}"""


# Run in the whole book (the singlehtml page) after PREPARE: a title page and a contents page
# before the first chapter, its page numbers left blank in boxes of a fixed width (FILL_PAGES
# fills them in without moving anything). Returns each chapter's section id and heading.
FRONT = """(front) => {
  const article = document.querySelector("article.bd-article");
  const heading = (h) => [...h.childNodes]
    .filter((n) => !(n.classList && n.classList.contains("headerlink")))
    .map((n) => n.textContent).join("").replace(/\\s+/g, " ").trim();
  const chapters = [];
  const first = article.querySelector("section");
  const firstH1 = first && first.querySelector("h1");
  if (firstH1) chapters.push({id: first.id, title: heading(firstH1)});
  for (const span of article.querySelectorAll('span[id^="document-"]')) {
    const section = span.nextElementSibling;
    // A chapter's title is its section's first heading (h3 in the single page: the chapters
    // sit under the root document's title and the parts' captions).
    const title = section && section.tagName === "SECTION"
      && section.querySelector(":scope > h1, :scope > h2, :scope > h3");
    if (title && section.id) chapters.push({id: section.id, title: heading(title)});
  }
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const cover = el("section", "book-pdf-front book-pdf-title");
  cover.append(el("h1", "book-pdf-title-main", front.title));
  if (front.subtitle) cover.append(el("p", "book-pdf-subtitle", front.subtitle));
  if (front.paper) cover.append(el("p", "book-pdf-paper", front.paper));
  cover.append(el("p", "book-pdf-author", front.author));
  cover.append(el("p", "book-pdf-edition", front.edition));
  if (front.colophon) cover.append(el("p", "book-pdf-colophon", front.colophon));
  const contents = el("nav", "book-pdf-front book-pdf-contents");
  contents.setAttribute("aria-label", "Contents");
  contents.append(el("h2", "book-pdf-contents-title", "Contents"));
  const list = el("ol");
  for (const chapter of chapters) {
    const item = el("li");
    const link = el("a");
    link.href = "#" + chapter.id;
    link.append(el("span", "book-pdf-toc-title", chapter.title));
    const number = el("span", "book-pdf-toc-page");
    number.dataset.section = chapter.id;
    link.append(number);
    item.append(link);
    list.append(item);
  }
  contents.append(list);
  article.prepend(cover, contents);
  return chapters;
}"""


FILL_PAGES = """(pages) => {
  for (const box of document.querySelectorAll(".book-pdf-toc-page")) {
    box.textContent = String(pages[box.dataset.section] || "");
  }
}"""


def page_pdf_name(docname: str) -> str:
    return f"{Path(docname).name}.pdf"


def missing_tools() -> str | None:
    """Why the PDFs cannot be printed here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed"
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        return f"Chromium is not installed at {CHROMIUM}"
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _serve(folder: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def _browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def _printing(browser, folder: Path) -> Iterator[Callable[[str, str, dict[str, str]], object]]:
    """Open pages of `folder`, served locally with the network cut off, ready to print: light
    colours, MathJax done, images loaded, links fixed (PREPARE)."""
    # The viewport is as wide as the printed column (A4 less the margins), so that what the
    # page measures before printing (wide equations) is what the printer lays out.
    context = browser.new_context(viewport={"width": 688, "height": 1000})
    with _serve(folder) as base:

        def open_page(path: str, note: str, measured: dict[str, str]) -> object:
            page = context.new_page()
            page.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort()
            )
            page.emulate_media(media="print")
            page.goto(f"{base}/{path}", wait_until="networkidle")
            if page.locator(".math").count():
                page.wait_for_function("Boolean(window.MathJax && MathJax.startup)")
            page.evaluate(PREPARE, [note, measured])
            return page

        try:
            yield open_page
        finally:
            context.close()


def print_pages(browser, folder: Path, jobs: list[tuple[str, Path, str]]) -> None:
    """Print each (path under folder, PDF, note)."""
    with _printing(browser, folder) as open_page:
        for path, pdf, note in jobs:
            page = open_page(path, note, {})
            pdf.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(pdf), **PRINT_OPTIONS)
            page.close()


def _flat(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u00ad", "")
    return re.sub(r"\s+", " ", text).strip()


def chapter_pages(pdf: Path, chapters: list[dict[str, str]]) -> dict[str, int] | None:
    """The page on which each chapter starts (section id -> page number, counting from 1), read
    with pdftotext: a chapter starts a page, with its heading at the top. None without
    pdftotext, or when a chapter is not found (the contents then list no pages)."""
    if not shutil.which("pdftotext"):
        return None
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    tops = [_flat(page)[:200] for page in text.split("\f")]
    found: dict[str, int] = {}
    start = 0
    for chapter in chapters:
        title = _flat(chapter["title"])[:40]
        page = next((k for k in range(start, len(tops)) if tops[k].startswith(title)), None)
        if page is None:
            return None
        found[chapter["id"]] = page + 1
        start = page + 1
    return found


def print_book(browser, folder: Path, pdf: Path, front: dict[str, str]) -> dict[str, int] | None:
    """Print the whole book (folder/index.html) with its title and contents pages; a second
    time, from the same page, once pdftotext has found the chapters' pages for the contents.
    Returns those pages, or None (the contents then list no pages)."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with _printing(browser, folder) as open_page:
        page = open_page("index.html", "", MEASURED_AT_BUILD)
        chapters = page.evaluate(FRONT, front)
        page.pdf(path=str(pdf), **PRINT_OPTIONS)
        pages = chapter_pages(pdf, chapters)
        if pages is not None:
            page.evaluate(FILL_PAGES, pages)
            page.pdf(path=str(pdf), **PRINT_OPTIONS)
            if chapter_pages(pdf, chapters) != pages:
                raise RuntimeError(f"{pdf.name}: the contents moved the chapters; pages {pages}")
        page.close()
    return pages


def front_matter(root: Path, student: bool) -> dict[str, str]:
    """The title page's text, from `_config.yml` (title, author, `book_pdf_paper`: the line
    that credits the paper) and the edition."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    title, _, subtitle = str(config.get("title", "")).partition(": ")
    sphinx = (config.get("sphinx") or {}).get("config") or {}
    return {
        "title": title,
        "subtitle": subtitle[:1].upper() + subtitle[1:],
        "paper": str(sphinx.get("book_pdf_paper", "")),
        "author": str(config.get("author", "")),
        "edition": STUDENT_NOTE if student else INSTRUCTOR_NOTE,
        "colophon": (
            "Printed from the book's site, whose chapters are Jupyter notebooks to run: "
            + str((config.get("repository") or {}).get("url", ""))
        ).rstrip(": "),
    }


def singlehtml(root: Path, out: Path, hide_solutions: bool) -> Path:
    """Build the whole book as one HTML page from the stored outputs; return the folder."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    config = copy.deepcopy(config)
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {
        name: str((root / path).resolve())
        for name, path in (sphinx.get("local_extensions") or {}).items()
    }
    sphinx.setdefault("config", {})["hide_solutions"] = hide_solutions
    sphinx["config"]["book_pdf"] = False
    html = config.setdefault("html", {})
    if html.get("favicon"):
        html["favicon"] = str((root / html["favicon"]).resolve())
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "_config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = [
        sys.executable,
        "-c",
        "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
        "build",
        str(root),
        "-W",
        "-n",
        "--keep-going",
        "--config",
        str(config_path),
        "--builder",
        "custom",
        "--custom-builder",
        "singlehtml",
        "--path-output",
        str(out),
    ]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        raise RuntimeError(f"the singlehtml build for the PDF failed:\n{output}")
    built = out / "_build" / "singlehtml"
    # The single page is written as the root document (book/intro.html), but its links assume
    # the site's root: serve it from there.
    toc_root = yaml.safe_load((root / "_toc.yml").read_text())["root"]
    shutil.copyfile(built / f"{toc_root}.html", built / "index.html")
    return built


def build_all(
    root: Path,
    site: Path,
    pages: list[str],
    name: str = "book",
    log: Callable[[str], None] = print,
) -> list[Path]:
    missing = missing_tools()
    if missing:
        raise RuntimeError(f"cannot print the PDFs: {missing}")
    target = site / PDF_DIR
    target.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    books: dict[str, Path] = {}
    failures: list[BaseException] = []

    def build_books() -> None:  # alongside the printing of the pages: two cores, two jobs
        try:
            for suffix, hide in EDITIONS.items():
                out = root / "_build" / "pdf" / f"single{suffix or '-full'}"
                books[suffix] = singlehtml(root, out, hide)
                log(f"singlehtml{suffix or ''} built ({time.monotonic() - started:.0f} s)")
        except BaseException as error:  # reported in the main thread
            failures.append(error)

    builder = threading.Thread(target=build_books)
    builder.start()
    try:
        with _browser() as browser:
            jobs = [(f"{page}.html", target / page_pdf_name(page), "") for page in pages]
            print_pages(browser, site, jobs)
            written = [pdf for _, pdf, _ in jobs]
            log(f"{len(jobs)} page PDFs printed ({time.monotonic() - started:.0f} s)")
            builder.join()
            if failures:
                raise failures[0]
            for suffix, folder in books.items():
                pdf = target / f"{name}{suffix}.pdf"
                found = print_book(browser, folder, pdf, front_matter(root, EDITIONS[suffix]))
                written.append(pdf)
                numbered = "with page numbers" if found else "without page numbers"
                log(f"{pdf.name} printed, contents {numbered} ({time.monotonic() - started:.0f} s)")
    finally:
        builder.join()
    return written


def _toc_pages(root: Path) -> list[str]:
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part.get("chapters", [])]
    pages += [chapter["file"] for chapter in toc.get("chapters", [])]
    return pages


def main() -> None:
    root = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=root / "_build" / "html")
    parser.add_argument("--name", default="book")
    args = parser.parse_args()
    if not (args.site / "index.html").exists():
        sys.exit(f"{args.site} holds no built site: run jupyter-book build . first")
    for pdf in build_all(root, args.site, _toc_pages(root), args.name):
        print(pdf.relative_to(root))


if __name__ == "__main__":
    main()
