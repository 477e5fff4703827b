"""The package's public objects and the chapters that use them, read from their docstrings.

Every public function and class says in its docstring which chapters call it by name, as
notebook files: a paragraph "Used in: book/sphere_nets.ipynb, book/course.ipynb." or
"Used in: no chapter by name (...)". This follows the "defined in" back-links of d2l.
`public_objects` collects them, so the book can print the index; a test derives each object's
chapters from the notebooks' code (`pa.<name>`) and fails on any difference.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass

__all__ = ["PublicObject", "public_objects"]

#: The modules whose `__all__` make up the public API, in reading order.
MODULES = (
    "attention",
    "sphere",
    "core_head",
    "bounds",
    "paper_route",
    "deconvolution",
    "designs",
    "design_prefixes",
    "targets",
    "lower_bounds",
    "kolmogorov_arnold",
    "transformer",
    "reproducibility",
    "plotting",
    "catalogue",
)


@dataclass(frozen=True)
class PublicObject:
    """One public function or class: its qualified name (module.name), the first paragraph of
    its docstring, and the chapter files its "Used in:" paragraph names (`used_in`, empty when
    it says "no chapter by name"; `has_used_in` is False when the paragraph is missing).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    name: str
    summary: str
    used_in: tuple[str, ...]
    has_used_in: bool


def public_objects() -> list[PublicObject]:
    """Every public function and class of the package, module by module, with its summary and
    the chapters that use it. Constants are left out.

    Used in: book/package.ipynb.
    """
    found = []
    for module_name in MODULES:
        module = importlib.import_module(f"prefix_approx.{module_name}")
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            doc = inspect.getdoc(obj) or ""
            summary = " ".join(doc.split("\n\n")[0].split())
            used_in, has_used_in = _used_in(doc)
            found.append(PublicObject(f"{module_name}.{name}", summary, used_in, has_used_in))
    return found


def _used_in(doc: str) -> tuple[tuple[str, ...], bool]:
    """The chapter files named by the "Used in:" paragraph of `doc`, and whether it has one."""
    for paragraph in doc.split("\n\n"):
        text = " ".join(paragraph.split())
        if text.startswith("Used in:"):
            text = text.removeprefix("Used in:").strip()
            if text.startswith("no chapter by name"):
                return (), True
            return tuple(re.findall(r"book/[\w-]+\.ipynb", text)), True
    return (), False
