"""The package's public objects and the chapters that use them, read from their docstrings.

Every public function and class says in its docstring which chapter uses it (a line that
starts with "Used in:"), after the "defined in" back-links of d2l. `public_objects` collects
them, so the book can print the index and the tests can check that no object lacks one.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

__all__ = ["PublicObject", "public_objects"]

#: The modules whose `__all__` make up the public API, in reading order.
MODULES = (
    "attention",
    "sphere",
    "core_head",
    "bounds",
    "targets",
    "kolmogorov_arnold",
    "transformer",
    "reproducibility",
    "plotting",
    "catalogue",
)


@dataclass(frozen=True)
class PublicObject:
    """One public function or class: its qualified name, the first line of its docstring and
    the chapters named on its "Used in:" line (empty if it has none).

    Used in: appendix "The prefix_approx package".
    """

    name: str
    summary: str
    used_in: str


def public_objects() -> list[PublicObject]:
    """Every public function and class of the package, module by module, with its summary and
    the chapters that use it. Constants are left out.

    Used in: appendix "The prefix_approx package".
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
            used_in = ""
            for line in doc.splitlines():
                if line.strip().startswith("Used in:"):
                    used_in = line.strip().removeprefix("Used in:").strip().rstrip(".")
            found.append(PublicObject(f"{module_name}.{name}", summary, used_in))
    return found
