"""Small fixes to the book's HTML, as a local Sphinx extension (see `_config.yml`).

- One inline script is emitted twice: sphinx-thebe 0.3.1 adds `const THEBE_JS_URL = ...` from
  an `env-before-read-docs` handler, and the asset reaches the page twice. The second
  `const` declaration throws a SyntaxError in every browser console. Here every page keeps
  only the first copy of each inline script body.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


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


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _drop_repeated_inline_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
