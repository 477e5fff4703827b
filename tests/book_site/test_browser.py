"""The built book in a real browser (Chromium driven by Playwright), with the network cut off:
every page loads without console errors and without needing anything but the local server;
math is typeset by MathJax; statement boxes and their cross-references render; figures load;
chapters offer their Binder and live-code buttons and their notebook for download; the search
page finds a theorem by name. Screenshots of two chapters are kept in _build/screenshots."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.request import urlopen

import pytest

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the browser fixture then skips (or fails where the tests are required)
    PlaywrightTimeout = TimeoutError

from .conftest import SCREENSHOTS

SCREENSHOT_PAGES = {"book/attention_prefixes_prompts", "book/theorem4_jackson_bounds"}


@pytest.fixture(scope="module")
def visits(browser, server: str, chapters: list[str]) -> dict[str, dict]:
    """Load every page once, offline, and record what a reader's browser saw."""
    results = {}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    for name in chapters:
        record: dict = {"console": [], "external": []}
        page.on("console", lambda m, r=record: r["console"].append((m.type, m.text)))
        page.on("pageerror", lambda e, r=record: r["console"].append(("pageerror", str(e))))

        def route(request_route, r=record):
            url = request_route.request.url
            if url.startswith(server):
                request_route.continue_()
            else:  # the network is off: anything else must not be needed
                r["external"].append(url)
                request_route.abort()

        page.route("**/*", route)
        page.goto(f"{server}/{name}.html", wait_until="networkidle")
        record["has_math"] = page.locator(".math").count() > 0
        if record["has_math"] and page.evaluate("Boolean(window.MathJax)"):
            # Wait for MathJax to start, then for its typesetting promise to settle. If it
            # never starts (its files missing, say), the page keeps raw LaTeX and the math
            # test below reports that page.
            try:
                page.wait_for_function("Boolean(window.MathJax.startup)", timeout=15_000)
                page.evaluate("MathJax.startup.promise.then(() => true)")
            except PlaywrightTimeout:
                pass
        record["typeset"] = page.locator("mjx-container").count()
        record["raw_math"] = page.evaluate(
            "[...document.querySelectorAll('.math')].filter("
            "e => !e.querySelector('mjx-container') && /\\\\[(\\[]|\\$/.test(e.textContent)).length"
        )
        record["boxes"] = page.locator("div.proof").count()
        record["box_refs"] = page.evaluate(
            "[...document.querySelectorAll('a.reference.internal')].filter("
            "a => a.getAttribute('href').includes('#') && a.textContent.trim() === '').length"
        )
        record["images"] = page.evaluate(
            "[...document.querySelectorAll('main img')]"
            ".map(i => [i.src, i.complete && i.naturalWidth])"
        )
        record["links"] = page.evaluate("[...document.querySelectorAll('a')].map(a => a.href)")
        record["thebe"] = page.locator(".btn-launch-thebe").count()
        if name in SCREENSHOT_PAGES:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{Path(name).name}.png"), full_page=True)
        results[name] = record
        page.close()  # a fresh page for the next one: no listeners or routes carried over
        page = context.new_page()
    context.close()
    return results


def test_pages_load_offline_without_console_errors(visits: dict[str, dict]) -> None:
    for name, seen in visits.items():
        errors = [m for m in seen["console"] if m[0] in {"error", "pageerror"}]
        assert not errors, f"{name}: {errors}"
        assert not seen["external"], f"{name} requested {seen['external'][:3]}"


def test_math_is_typeset_by_the_local_mathjax(visits: dict[str, dict]) -> None:
    pages_with_math = [n for n, s in visits.items() if s["has_math"]]
    assert len(pages_with_math) >= 9
    for name, seen in visits.items():
        # Raw LaTeX anywhere, including math in the sidebar of a page that loads no MathJax.
        assert seen["raw_math"] == 0, f"{name}: raw LaTeX left on the page"
        if seen["has_math"]:
            assert seen["typeset"] > 0, f"{name}: no formula typeset"


def test_chapters_show_statement_boxes_and_named_references(
    visits: dict[str, dict], chapters: list[str]
) -> None:
    for name in chapters:
        notebook = Path(__file__).resolve().parents[2] / f"{name}.ipynb"
        boxes = r"\{prf:(theorem|lemma|corollary|proposition|definition|remark|proof)\}"
        if notebook.exists() and re.search(boxes, notebook.read_text()):
            assert visits[name]["boxes"] > 0, f"{name}: no theorem, lemma or proof box"
        assert visits[name]["box_refs"] == 0, f"{name}: a cross-reference renders without text"


def test_figures_load(visits: dict[str, dict]) -> None:
    figures = 0
    for name, seen in visits.items():
        for src, width in seen["images"]:
            assert width, f"{name}: image {src} did not load"
            figures += "_images" in src
    assert figures >= 12


def test_binder_live_code_and_download_buttons(
    visits: dict[str, dict], config: dict, server: str
) -> None:
    url = config["repository"]["url"].rstrip("/")
    owner_repo = re.sub(r"^https://github\.com/", "", url)
    branch = config["repository"]["branch"]
    root = Path(__file__).resolve().parents[2]
    notebooks = [n for n in visits if (root / f"{n}.ipynb").exists()]
    assert len(notebooks) >= 10
    for name in notebooks:
        links = visits[name]["links"]
        binder = f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{name}.ipynb"
        assert binder in links, f"{name}: no Binder link {binder}"
        assert visits[name]["thebe"] == 1, f"{name}: no live-code button"
        source = f"{server}/_sources/{name}.ipynb"
        assert source in links, f"{name}: no download of its notebook"
        with urlopen(source) as response:  # the download serves the real notebook
            assert json.load(response)["nbformat"] == 4
        assert (
            f"{url}/issues/new?title=Issue%20on%20page%20%2F{name}.html&body=Your%20issue%20content%20here."
            in links
            or any(link.startswith(f"{url}/issues") for link in links)
        )


def test_search_finds_theorems_by_name(browser, server: str) -> None:
    page = browser.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
    for query, expected in (
        ("Jackson", "theorem4_jackson_bounds.html"),
        ("decomposition", "attention_prefixes_prompts.html"),
        ("superposition", "kolmogorov_arnold.html"),
    ):
        page.goto(f"{server}/search.html?q={query}", wait_until="networkidle")
        page.wait_for_selector("#search-results li a", timeout=15_000)
        hits = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
        assert any(expected in h for h in hits), f"search for {query!r}: {hits[:5]}"
    page.close()


def test_screenshots_were_saved(visits: dict[str, dict]) -> None:
    for name in SCREENSHOT_PAGES:
        path = SCREENSHOTS / f"{Path(name).name}.png"
        assert path.exists() and path.stat().st_size > 50_000, path
