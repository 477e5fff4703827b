"""Fixtures for testing the built book: the site folder, a local HTTP server, a browser.

The tests need the book built (`_build/html`) and, for the browser tests, Playwright and
Chromium (`/usr/bin/chromium`). Without them they are skipped, unless the environment variable
PREFIX_APPROX_REQUIRE_SITE_TESTS=1 is set (as CI does), which turns a skip into a failure.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from prefix_approx import book_pages

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("PREFIX_APPROX_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("PREFIX_APPROX_REQUIRE_SITE_TESTS") == "1"


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"site tests are required here, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").exists():
        unavailable(f"the book is not built ({SITE} is missing); run jupyter-book build . first")
    return SITE


@pytest.fixture(scope="session")
def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


@pytest.fixture(scope="session")
def chapters() -> list[str]:
    """Pages of the book (paths without suffix, such as book/theorem1_density), in toc order."""
    return book_pages(ROOT)


@pytest.fixture(scope="session")
def server(site: Path) -> Iterator[str]:
    with serve(site) as url:
        yield url


@contextlib.contextmanager
def serve(
    directory: Path, content_type: Callable[[str], str | None] | None = None
) -> Iterator[str]:
    """Serve `directory` on a free local port. `content_type(path)` may name the Content-Type
    to send for a file (Python's http.server sends application/octet-stream for .ipynb)."""

    class Handler(_QuietHandler):
        def guess_type(self, path: str | os.PathLike[str]) -> str:
            return (content_type and content_type(str(path))) or super().guess_type(path)

    handler = functools.partial(Handler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed (pip install -r requirements.txt)")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_session) -> Iterator[object]:
    chromium = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def offline_browser(playwright_session) -> Iterator[object]:
    """Chromium that reaches this machine only, without request interception: every request
    to another host goes to a proxy on a local port that refuses connections (loopback
    addresses never go through a proxy) and fails. Pages then need no Playwright routes, which
    would also stop the browser's own requests, such as the one for /favicon.ico."""
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        proxy = f"--proxy-server=http://127.0.0.1:{closed_port.getsockname()[1]}"
        chromium = playwright_session.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, proxy]
        )
        yield chromium
        chromium.close()
