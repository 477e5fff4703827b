"""Every notebook of the book runs in Google Colab, which its "Open in Colab" button opens.

Colab has no copy of the book's package, so each notebook's first code cell installs it from
the repository named in `_config.yml` (the address the launch buttons use) when, and only
when, it runs in Colab. The cell is tagged `remove-cell`: the book hides it, the notebook keeps
it; elsewhere it prints nothing, so nbval's comparison of stored outputs is unchanged.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def _code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def _setup_cell(path: Path) -> dict:
    return _code_cells(path)[0]


def test_every_notebook_is_checked() -> None:
    assert len(NOTEBOOKS) >= 12


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_installs_the_package_in_colab_only(path: Path) -> None:
    cell = _setup_cell(path)
    source = "".join(cell["source"])
    assert "remove-cell" in cell["metadata"].get("tags", []), f"{path.name}: not remove-cell"
    assert cell["outputs"] == [], f"{path.name}: the Colab cell has stored outputs"
    assert 'if "google.colab" in sys.modules:' in source, source
    assert "%pip install" in source, source
    assert not any("prefix_approx" in line for line in source.splitlines()), source
    # Every later cell may import the package: none comes before this one.
    later = "".join("".join(c["source"]) for c in _code_cells(path)[1:])
    assert "import prefix_approx" in later or "prefix_approx" in later, path.name
    assert all(len(line) <= 79 for line in source.splitlines()), source


def _run_setup_cell(source: str, in_colab: bool) -> tuple[list[str], str]:
    """Run the cell in an IPython shell whose `%pip` records its (expanded) argument line;
    return those lines and what the cell printed."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    calls: list[str] = []
    shell.register_magic_function(lambda line: calls.append(line), "line", "pip")
    saved = sys.modules.get("google.colab")
    try:
        if in_colab:
            sys.modules["google.colab"] = types.ModuleType("google.colab")
        else:
            sys.modules.pop("google.colab", None)
        with capture_output() as captured:
            result = shell.run_cell(source, store_history=False)
        result.raise_error()
    finally:
        if saved is not None:
            sys.modules["google.colab"] = saved
        else:
            sys.modules.pop("google.colab", None)
    return calls, captured.stdout + captured.stderr


def test_the_cell_installs_from_the_launch_buttons_repository_in_colab() -> None:
    config = _config()
    url = config["repository"]["url"].rstrip("/")
    branch = config["repository"]["branch"]
    sources = {"".join(_setup_cell(p)["source"]) for p in NOTEBOOKS}
    assert len(sources) == 1, "the notebooks' Colab cells differ"
    source = sources.pop()
    calls, printed = _run_setup_cell(source, in_colab=True)
    assert calls == [f'install --quiet "git+{url}@{branch}"'], calls
    calls, printed = _run_setup_cell(source, in_colab=False)
    assert calls == [] and printed == "", (calls, printed)


def test_the_package_installs_under_the_name_the_chapters_import() -> None:
    """`git+<repository>` installs the project of pyproject.toml, whose package the chapters
    import as `prefix_approx`."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'name = "prefix-approx"' in pyproject
    assert (ROOT / "src" / "prefix_approx" / "__init__.py").is_file()
