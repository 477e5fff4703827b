"""Quality of the built site, in the files and in a real browser (Chromium, network cut off).

- Downloads save files: every link of a chapter's download menu (its notebook or Markdown
  source, its PDF and the whole book's) saves the file under its own name, when the book is
  opened from disk (file://, as the README says) and when a server calls notebooks JSON and
  Markdown text (Python's http.server, which the other tests use, sends
  application/octet-stream, which any browser saves anyway).
- Valid HTML: every id is unique within its page, in the written files and in the live pages.
- Accessible HTML: axe-core (the engine behind Lighthouse's accessibility audit, from the
  PyPI package axe-playwright-python, which ships it) finds no critical or serious violation
  on any page at a phone's and a desktop's width.
- No page makes a request that fails (a 404, say) while it loads and while axe reads it.
"""

from __future__ import annotations

import collections
import contextlib
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import urlopen

import pytest

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the browser fixture then skips (or fails where the tests are required)
    PlaywrightTimeout = TimeoutError

from .conftest import serve, unavailable

WIDTHS = (390, 1400)
BLOCKING = ("critical", "serious")
# axe-core still checks every rule on every node, but details only its violations (not the
# passes), which halves its time on a chapter (4.3 s, not 9.7 s, for Chapter 6).
AXE_OPTIONS = {"resultTypes": ["violations"]}
# The entries of the theme's download menu: btn-download-notebook-button, -source-, and
# book_reader.py's -pdf- (this page) and -book-pdf- (the whole book); and the sidebar's links
# to both editions of the whole book (book-pdf-download).
DOWNLOAD_CLASS = re.compile(r"^(btn-download-[a-z-]+-button|book-pdf-download)$")
# Content types a server may well send for the files of the download menu (a browser shows
# each of them in a tab when nothing says "download"); the files of a kind take them in turn.
HTTP_CONTENT_TYPES = {
    ".ipynb": ("application/json", "application/x-ipynb+json"),
    ".md": ("text/markdown", "text/plain"),
    ".pdf": ("application/pdf",),
}


def _html_pages(site: Path) -> list[Path]:
    return sorted(
        p for p in site.rglob("*.html") if p.relative_to(site).parts[0] not in {"_static"}
    )


# --- the files ------------------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: collections.Counter[str] = collections.Counter()
        self.downloads: list[dict[str, str | None]] = []  # attributes of download-menu links

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids[values["id"]] += 1
        classes = (values.get("class") or "").split()
        if tag == "a" and any(DOWNLOAD_CLASS.match(c) for c in classes):
            self.downloads.append(values)


def _parse(path: Path) -> _Page:
    parser = _Page()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_ids_are_unique_on_every_page(site: Path) -> None:
    pages = _html_pages(site)
    assert len(pages) >= 15
    repeated = {}
    for path in pages:
        ids = _parse(path).ids
        twice = sorted(i for i, n in ids.items() if n > 1)
        if twice:
            repeated[str(path.relative_to(site))] = twice
    assert not repeated, f"ids repeated within a page: {repeated}"


@dataclass(frozen=True)
class Download:
    page: str  # the page, relative to the site root, without .html
    href: str  # the link's href as written
    file: Path  # the file it saves
    attributes: tuple[tuple[str, str | None], ...]


@pytest.fixture(scope="module")
def downloads(site: Path, chapters: list[str]) -> list[Download]:
    """Every link of every chapter's download menu, and its sidebar links to the book's PDFs."""
    found = []
    for name in chapters:
        page = site / f"{name}.html"
        links = _parse(page).downloads
        assert links, f"{name}: no download menu"
        for attrs in links:
            href = attrs["href"] or ""
            file = (page.parent / unquote(urlsplit(href).path)).resolve()
            assert file.is_file(), f"{name}: {href} is not a file of the site"
            found.append(Download(name, href, file, tuple(attrs.items())))
    return found


def test_download_links_name_their_file_and_open_no_tab(downloads: list[Download]) -> None:
    """`download` makes a browser save the file whatever type a server gives it (on http);
    `target="_blank"` would open a tab for it instead."""
    for item in downloads:
        attrs = dict(item.attributes)
        assert attrs.get("download") == item.file.name, f"{item.page}: {item.href} no download"
        assert "target" not in attrs, f"{item.page}: {item.href} opens a new tab"


def _of_kind(downloads: list[Download], suffix: str) -> list[Download]:
    """The downloads of one kind, each file once: a page's own files are its own, and the
    whole book's PDF, linked from every page, is clicked on the first (its link is the same
    on every page, as test_download_links_name_their_file_and_open_no_tab checks)."""
    chosen: dict[tuple[Path, bool], Download] = {}
    for item in downloads:
        if item.file.suffix == suffix:  # once from the menu, once from the sidebar
            in_sidebar = "book-pdf-download" in (dict(item.attributes).get("class") or "")
            chosen.setdefault((item.file, in_sidebar), item)
    if not chosen:
        if suffix == ".pdf":
            pytest.skip("no PDFs in this build (book_pdf off, or PREFIX_APPROX_BUILD_PDF=0)")
        pytest.fail(f"no {suffix} download on any page")
    return list(chosen.values())


def _click_every_download(browser, base: str, downloads: list[Download]) -> None:
    """Open each page at `base`, click each of its download links, expect a saved file."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    # These tests only open a menu and click: keep MathJax from typesetting each chapter (most
    # of their time). Its configuration object is fixed before the page's own can replace it.
    context.add_init_script(
        "Object.defineProperty(window, 'MathJax', "
        "{value: {startup: {typeset: false}}, writable: false, configurable: false})"
    )
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
    failures = []
    for item in downloads:
        url = f"{base}/{item.page}.html"
        if page.url != url:
            page.goto(url, wait_until="domcontentloaded")
        if "book-pdf-download" in (dict(item.attributes).get("class") or "").split():
            link = page.locator(f'.book-pdf-links a[href="{item.href}"]')
        else:
            page.click(".dropdown-download-buttons > button.dropdown-toggle")
            link = page.locator(f'.dropdown-download-buttons a[href="{item.href}"]')
        try:
            with page.expect_download(timeout=8_000) as info:
                link.click()
        except PlaywrightTimeout:
            shown = context.pages[-1].url
            failures.append(f"{item.page}: {item.href} saved nothing (the browser shows {shown})")
        else:
            saved = info.value
            if saved.suggested_filename != item.file.name:
                failures.append(f"{item.page}: saved as {saved.suggested_filename!r}")
            elif Path(saved.path()).read_bytes() != item.file.read_bytes():
                failures.append(f"{item.page}: {item.href} saved other bytes than the file")
        for extra in context.pages[1:]:  # a tab opened for the file
            failures.append(f"{item.page}: {item.href} opened a tab at {extra.url}")
            extra.close()
        if page.url != url:
            failures.append(f"{item.page}: {item.href} left the page for {page.url}")
    context.close()
    assert not failures, "\n".join(failures)


def test_notebook_download_saves_a_file_from_file_url(browser, site, downloads) -> None:
    _click_every_download(browser, site.as_uri(), _of_kind(downloads, ".ipynb"))


def test_source_download_saves_a_file_from_file_url(browser, site, downloads) -> None:
    _click_every_download(browser, site.as_uri(), _of_kind(downloads, ".md"))


def test_pdf_download_saves_a_file_from_file_url(browser, site, downloads) -> None:
    _click_every_download(browser, site.as_uri(), _of_kind(downloads, ".pdf"))


@contextlib.contextmanager
def _typed_server(site: Path, downloads: list[Download]) -> Iterator[str]:
    """A server that sends the types of HTTP_CONTENT_TYPES, each for some of the files."""
    chosen: dict[str, str] = {}
    for suffix, types in HTTP_CONTENT_TYPES.items():
        files = sorted({str(d.file) for d in downloads if d.file.suffix == suffix})
        chosen.update((file, types[i % len(types)]) for i, file in enumerate(files))
    with serve(site, lambda path: chosen.get(str(Path(path).resolve()))) as base:
        for file, sent in chosen.items():  # the server really says what the tests claim
            with urlopen(f"{base}/{Path(file).relative_to(site).as_posix()}") as response:
                assert response.headers["Content-Type"] == sent, file
        yield base


def test_notebook_download_saves_a_file_over_http_with_a_json_type(
    browser, site, downloads
) -> None:
    with _typed_server(site, downloads) as base:
        _click_every_download(browser, base, _of_kind(downloads, ".ipynb"))


def test_source_download_saves_a_file_over_http_with_a_text_type(browser, site, downloads) -> None:
    with _typed_server(site, downloads) as base:
        _click_every_download(browser, base, _of_kind(downloads, ".md"))


def test_pdf_download_saves_a_file_over_http(browser, site, downloads) -> None:
    with _typed_server(site, downloads) as base:
        _click_every_download(browser, base, _of_kind(downloads, ".pdf"))


def test_every_download_in_the_menu_is_clicked(downloads: list[Download]) -> None:
    """Each link of the menu is of a kind the click tests above cover."""
    for item in downloads:
        assert item.file.suffix in {".ipynb", ".md", ".pdf"}, item
    assert len({d.page for d in downloads if d.file.suffix == ".ipynb"}) >= 10
    assert len({d.page for d in downloads if d.file.suffix == ".md"}) >= 3


# --- the live pages: axe-core, failed requests, ids -----------------------------------------


_REFRESH = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.IGNORECASE)


def _settle(page) -> None:
    """Wait for what changes a page after `load` or a resize: MathJax's typesetting, fonts,
    CSS transitions (the sidebars slide), then two frames for the handlers they trigger."""
    if page.evaluate("Boolean(window.MathJax && window.MathJax.startup)"):
        page.evaluate("MathJax.startup.promise.then(() => true)")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.evaluate(
        "Promise.all(document.getAnimations().map(a => a.finished.catch(() => null)))"
        ".then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))"
    )


@pytest.fixture(scope="module")
def audits(offline_browser, server: str, site: Path) -> dict[str, dict]:
    """Every page of the site, loaded once and read at each width in turn (a resize is much
    cheaper than a second load, and axe runs faster the second time in a page): axe-core's
    violations and the ids of the live page per width, and every request that failed."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        unavailable("axe-playwright-python is not installed (pip install -r requirements.txt)")
    axe = Axe()
    results = {}
    pages = [p.relative_to(site).as_posix() for p in _html_pages(site)]
    assert len(pages) >= 15
    # The network is off (a request that leaves the site fails, and is reported), without
    # routes, so that the browser's own requests happen as for a reader.
    context = offline_browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    for name in pages:
        page = context.new_page()
        record: dict = {"failed": [], "violations": {}, "ids": {}}
        failed = record["failed"]
        page.on("requestfailed", lambda r, f=failed: f.append(f"{r.url} ({r.failure})"))
        # The browser's own requests (/favicon.ico) only show in the console.
        page.on(
            "console",
            lambda m, f=failed: (
                m.type == "error"
                and m.text.startswith("Failed to load resource")
                and f.append(f"{m.location.get('url')} ({m.text})")
            ),
        )
        page.on(
            "response", lambda r, f=failed: r.status >= 400 and f.append(f"{r.url} ({r.status})")
        )
        page.goto(f"{server}/{name}", wait_until="load")
        redirect = _REFRESH.search((site / name).read_text(encoding="utf-8"))
        if redirect:  # a stub (index.html): audit the page a reader lands on
            page.wait_for_url(f"{server}/{posixpath.join(posixpath.dirname(name), redirect[1])}")
            page.wait_for_load_state("load")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            _settle(page)
            record["violations"][width] = [
                {"rule": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
                for v in axe.run(page, options=AXE_OPTIONS).response["violations"]
            ]
            record["ids"][width] = page.evaluate(
                "[...document.querySelectorAll('[id]')].map(e => e.id).filter(Boolean)"
            )
        results[name] = record
        page.close()
    context.close()
    return results


def test_axe_no_serious_or_critical_violations(audits: dict[str, dict]) -> None:
    found = [
        f"{name} at {width}px: {v['impact']} {v['rule']} on {v['nodes'][:3]}"
        for name, record in audits.items()
        for width, violations in record["violations"].items()
        for v in violations
        if v["impact"] in BLOCKING
    ]
    assert not found, "\n".join(found)


def test_no_request_fails_on_any_page(audits: dict[str, dict]) -> None:
    found = [
        f"{name}: {failure}" for name, record in audits.items() for failure in record["failed"]
    ]
    assert not found, "\n".join(sorted(set(found)))


def test_ids_are_unique_in_the_live_pages(audits: dict[str, dict]) -> None:
    """After the page's scripts have run (toggle buttons, MathJax, the theme's own)."""
    found = {}
    for name, record in audits.items():
        for width, ids in record["ids"].items():
            twice = sorted(i for i, n in collections.Counter(ids).items() if n > 1)
            if twice:
                found[f"{name} at {width}px"] = twice
    assert not found, f"ids repeated in the live page: {found}"
