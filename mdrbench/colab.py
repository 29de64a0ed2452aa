"""Colab and Binder support: the notebooks' first cells, generated from the repository's one URL.

The repository's URL is written once, in ``[project.urls]`` of ``pyproject.toml``. From it this module builds,
for a notebook ``notebooks/NN_name.py`` (or its solutions, ``notebooks/solutions/NN_name_solutions.py``):

* a markdown cell with an "Open in Colab" badge pointing at that notebook's ``.ipynb`` (Colab opens ``.ipynb``
  from GitHub, never a Jupytext ``.py``), a Binder badge, and an absolute link to the glossary (a relative link
  does not resolve on Colab);
* an install cell that does something only on Colab (``"google.colab" in sys.modules``): it pip-installs the
  package from the repository (Colab already has torch, so nothing pins it) and switches on Colab's widget manager
  for third-party widgets, ``google.colab.output.enable_custom_widget_manager()``. Anywhere else (JupyterLab,
  Binder, nbmake in CI) it does nothing and needs no network.

``python -m mdrbench.colab`` writes those two cells at the top of every ``notebooks/NN_*.py`` and
``notebooks/solutions/NN_*.py`` (replacing the ones it wrote before, which carry the cell tag ``mdrbench-colab``),
makes sure each notebook's header links to ``docs/glossary.md`` (relative to the notebook's own folder), and
updates the paired ``.ipynb`` with Jupytext. Running it again changes nothing;
``--check`` only reports what would change (exit status 1), for CI.

:func:`static_figures` says whether interactive views should fall back to static Plotly figures: on Colab, where
a ``FigureWidget`` may not render (plotly.py#2202, colab-cdn-widget-manager#51), or when
``MDRBENCH_STATIC_FIGURES=1``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "CELL_TAG",
    "GLOSSARY",
    "Repository",
    "badge_markdown",
    "glossary_link",
    "install_source",
    "main",
    "notebook_path",
    "notebook_scripts",
    "on_colab",
    "repository",
    "static_figures",
    "update_notebook",
]

PACKAGE = "mdrbench"
# The cell tag that marks the generated cells, so a later run finds and replaces them.
CELL_TAG = "mdrbench-colab"
# The glossary, relative to the repository root and to a notebook.
GLOSSARY = "docs/glossary.md"
GLOSSARY_FROM_NOTEBOOK = "../" + GLOSSARY
# The folder of the notebooks, and the sub-folder of their solution notebooks.
NOTEBOOKS = "notebooks"
SOLUTIONS = "solutions"
BRANCH = "main"
# Environment variable that forces (1) or forbids (0) the static-figure fallback; unset: only on Colab.
STATIC_FIGURES_ENV = "MDRBENCH_STATIC_FIGURES"

_CHECKOUT = Path(__file__).resolve().parent.parent  # the repository root when run from a checkout
_GITHUB = re.compile(r"^https://github\.com/(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


# ------------------------------------------------------------------------------------------- where we run


def on_colab() -> bool:
    """True inside a Google Colab kernel (Colab imports ``google.colab`` at start-up)."""
    return "google.colab" in sys.modules


def static_figures() -> bool:
    """Whether interactive views should use static Plotly figures plus ipywidgets controls.

    ``MDRBENCH_STATIC_FIGURES=1`` forces the fallback, ``=0`` forbids it; unset (or empty), it is used on
    Colab only, where Plotly's ``FigureWidget`` has a long record of not rendering.
    """
    value = os.environ.get(STATIC_FIGURES_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value:
        raise ValueError(f"{STATIC_FIGURES_ENV}={value!r}: use 1 (static figures) or 0 (FigureWidget).")
    return on_colab()


# ------------------------------------------------------------------------------------------ the repository


@dataclass(frozen=True)
class Repository:
    """A GitHub repository: ``url`` as written in pyproject.toml, ``owner`` and ``name`` parsed from it."""

    url: str
    owner: str
    name: str

    @classmethod
    def from_url(cls, url: str) -> Repository:
        match = _GITHUB.match(url.strip())
        if match is None:
            raise ValueError(f"{url!r} is not a GitHub repository URL (https://github.com/OWNER/NAME); Colab and "
                             "Binder open notebooks from GitHub.")
        return cls(url=f"https://github.com/{match['owner']}/{match['name']}", owner=match["owner"],
                   name=match["name"])

    def colab_url(self, notebook: str | Path) -> str:
        """Colab's address of the notebook's ``.ipynb`` on the main branch (see :func:`notebook_path`)."""
        return (f"https://colab.research.google.com/github/{self.owner}/{self.name}/blob/{BRANCH}/"
                f"{notebook_path(notebook)}")

    def binder_url(self, notebook: str | Path) -> str:
        """mybinder.org's address that opens the notebook's ``.ipynb`` in JupyterLab."""
        return (f"https://mybinder.org/v2/gh/{self.owner}/{self.name}/HEAD"
                f"?labpath={quote(notebook_path(notebook), safe='')}")

    def file_url(self, path: str) -> str:
        """GitHub's page of a file of the repository (main branch)."""
        return f"{self.url}/blob/{BRANCH}/{path}"

    @property
    def pip_requirement(self) -> str:
        """The pip requirement that installs the package from the repository (PEP 508 direct reference)."""
        return f"{PACKAGE} @ git+{self.url}"


def _stem(notebook: str | Path) -> str:
    name = Path(notebook).name
    for suffix in (".ipynb", ".py"):
        name = name.removesuffix(suffix)
    return name


def _subfolders(notebook: str | Path) -> tuple[str, ...]:
    """The folders between ``notebooks/`` and the notebook: () for a notebook, ("solutions",) for a solution.

    A path that contains a ``notebooks`` folder is read from its last one; any other relative path is taken as
    relative to ``notebooks/`` (``"solutions/x.py"``, or a bare name); any other absolute path has none.
    """
    path = Path(notebook)
    parents = path.parts[:-1]
    if NOTEBOOKS in parents:
        return parents[len(parents) - parents[::-1].index(NOTEBOOKS):]
    return () if path.is_absolute() else parents


def notebook_path(notebook: str | Path) -> str:
    """The repository path of a notebook's ``.ipynb``, the file Colab and Binder open.

    ``03_proxy_losses.py`` and ``notebooks/03_proxy_losses.py`` give ``notebooks/03_proxy_losses.ipynb``;
    ``notebooks/solutions/03_proxy_losses_solutions.py`` (or ``solutions/...``) gives
    ``notebooks/solutions/03_proxy_losses_solutions.ipynb``.
    """
    return "/".join((NOTEBOOKS, *_subfolders(notebook), f"{_stem(notebook)}.ipynb"))


def glossary_link(notebook: str | Path) -> str:
    """The glossary's path relative to the notebook's folder (``../docs/glossary.md`` from ``notebooks/``)."""
    return "../" * (1 + len(_subfolders(notebook))) + GLOSSARY


def _urls_from_pyproject(path: Path) -> dict[str, str] | None:
    with path.open("rb") as file:
        project = tomllib.load(file).get("project", {})
    if project.get("name") != PACKAGE:
        return None
    return dict(project.get("urls", {}))


def _urls_from_metadata() -> dict[str, str]:
    from importlib import metadata

    try:
        entries = metadata.metadata(PACKAGE).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return {}
    urls = {}
    for entry in entries:  # "Label, https://..."
        label, _, url = entry.partition(",")
        urls[label.strip()] = url.strip()
    return urls


def repository(pyproject: str | Path | None = None) -> Repository:
    """The repository named in ``[project.urls]`` (``Repository``, else ``Homepage``).

    Read from ``pyproject`` when given; else from the checkout's pyproject.toml when this module runs from a
    checkout (the source of truth, never stale); else from the installed package's metadata
    (``importlib.metadata``, e.g. after ``pip install`` from the repository).
    """
    urls = None
    if pyproject is not None:
        urls = _urls_from_pyproject(Path(pyproject))
        if urls is None:
            raise ValueError(f"{pyproject} is not the pyproject.toml of {PACKAGE}.")
    elif (_CHECKOUT / "pyproject.toml").is_file():
        urls = _urls_from_pyproject(_CHECKOUT / "pyproject.toml")
    if urls is None:
        urls = _urls_from_metadata()
    for label in ("Repository", "Homepage"):
        if urls.get(label):
            return Repository.from_url(urls[label])
    raise LookupError(f"no Repository or Homepage URL in [project.urls] of {PACKAGE}'s pyproject.toml (or in the "
                      "installed package's metadata).")


# --------------------------------------------------------------------------------------- the generated cells


def badge_markdown(notebook: str | Path, repo: Repository | None = None) -> str:
    """Markdown of the notebook's Colab and Binder badges and a link to the glossary on GitHub."""
    repo = repo or repository()
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({repo.colab_url(notebook)})\n"
            f"[![Binder](https://mybinder.org/badge_logo.svg)]({repo.binder_url(notebook)})\n"
            f"· [glossary]({repo.file_url(GLOSSARY)})")


def install_source(repo: Repository | None = None) -> str:
    """Source of the install cell: on Colab, install the package and enable third-party widgets; else nothing."""
    repo = repo or repository()
    return f'''\
# On Google Colab only: install mdrbench from its repository (Colab already has torch), then switch on Colab's
# manager for third-party widgets (ipywidgets 8, Plotly). Anywhere else (Jupyter, Binder, CI) this does nothing.
# If Colab asks to restart the session after the install, restart and run the notebook again.
import sys

if "google.colab" in sys.modules:
    import importlib.util
    import subprocess

    if importlib.util.find_spec("mdrbench") is None:
        requirement = "{repo.pip_requirement}"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", requirement], check=True)
    from google.colab import output

    output.enable_custom_widget_manager()'''


def _percent_cells(notebook: str | Path, repo: Repository) -> str:
    """The generated cells in Jupytext's percent format, ending with a blank line."""
    markdown = "\n".join(f"# {line}" if line else "#" for line in badge_markdown(notebook, repo).splitlines())
    return (f'# %% [markdown] tags=["{CELL_TAG}"]\n{markdown}\n\n'
            f'# %% tags=["{CELL_TAG}"]\n{install_source(repo)}\n\n')


def _glossary_line(link: str = GLOSSARY_FROM_NOTEBOOK) -> str:
    return ("# Words with a precise meaning here (complete space, sub-space, notion, proxy, prototype, the sizes "
            "`ci`,\n# `default` and `full`, the `-full` suffix...) are defined in the "
            f"[glossary]({link}).")


def _split_cells(body: str) -> list[str]:
    """Split the body of a percent script (after its YAML header) into cells, each starting with ``# %%``."""
    starts = [match.start() for match in re.finditer(r"^# %%", body, flags=re.MULTILINE)]
    if not starts:
        return [body] if body.strip() else []
    cells = [body[start:end] for start, end in zip(starts, [*starts[1:], len(body)], strict=True)]
    if body[:starts[0]].strip():
        cells.insert(0, body[:starts[0]])
    return cells


def _with_glossary_link(header: str, link: str = GLOSSARY_FROM_NOTEBOOK) -> str:
    """The header cell with the glossary sentence under its title (unchanged if it already links the glossary)."""
    if f"]({link})" in header:
        return header
    lines = header.split("\n")
    title = next((i for i, line in enumerate(lines) if line.startswith("# # ")), None)
    if title is None:
        raise ValueError("the notebook's header cell has no title line ('# # ...'); add one before generating.")
    lines[title + 1:title + 1] = ["#", *_glossary_line(link).split("\n")]
    return "\n".join(lines)


def render_script(text: str, notebook: str | Path, repo: Repository | None = None) -> str:
    """The percent script ``text`` with the generated cells first and the glossary linked from its header."""
    repo = repo or repository()
    header_end = 0
    if text.startswith("# ---\n"):
        closing = text.find("\n# ---\n", len("# ---"))
        if closing < 0:
            raise ValueError(f"{notebook}: the Jupytext YAML header is not closed ('# ---').")
        header_end = closing + len("\n# ---\n")
    head, body = text[:header_end], text[header_end:]
    cells = [cell for cell in _split_cells(body.lstrip("\n"))
             if not (cell.startswith("# %%") and f'"{CELL_TAG}"' in cell.split("\n", 1)[0])]
    if not cells or not cells[0].startswith("# %% [markdown]"):
        raise ValueError(f"{notebook}: the first cell after the generated ones must be the markdown header.")
    cells[0] = _with_glossary_link(cells[0], glossary_link(notebook))
    separator = "\n" if head else ""
    return head + separator + _percent_cells(notebook, repo) + "".join(cells)


def notebook_scripts(root: str | Path | None = None, solutions: bool = True) -> list[Path]:
    """The notebooks' percent scripts under the repository root: ``notebooks/NN_*.py``, then (with
    ``solutions``) the solution notebooks ``notebooks/solutions/NN_*.py``."""
    root = Path(root) if root is not None else _CHECKOUT
    scripts = sorted((root / NOTEBOOKS).glob("[0-9][0-9]_*.py"))
    if solutions:
        scripts += sorted((root / NOTEBOOKS / SOLUTIONS).glob("[0-9][0-9]_*.py"))
    return scripts


def _pair_differs(script: Path) -> bool:
    import jupytext

    paired = script.with_suffix(".ipynb")
    if not paired.exists():
        return True

    def cells(notebook):
        return [(cell.cell_type, cell.source.strip(), cell.metadata.get("tags", [])) for cell in notebook.cells]

    return cells(jupytext.read(script)) != cells(jupytext.read(paired))


def _sync(script: Path) -> None:
    """Write the script's cells into the paired .ipynb (outputs and cell ids of unchanged cells kept)."""
    from jupytext.cli import jupytext as jupytext_cli

    jupytext_cli(["--quiet", "--update", "--to", "ipynb", str(script)])


def update_notebook(script: str | Path, repo: Repository | None = None, write: bool = True, sync: bool = True
                    ) -> bool:
    """Bring one notebook's generated cells and its .ipynb up to date; True if anything changed (or would)."""
    script = Path(script)
    repo = repo or repository()
    text = script.read_text()
    rendered = render_script(text, script, repo)
    changed = rendered != text
    if write and changed:
        script.write_text(rendered)
    if sync and (write or not changed) and _pair_differs(script):
        if write:
            _sync(script)
        changed = True
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mdrbench.colab",
        description="Write each notebook's Colab/Binder badge cell and Colab install cell from [project.urls] in "
                    "pyproject.toml, link the glossary from its header, and sync the paired .ipynb.")
    parser.add_argument("scripts", nargs="*", type=Path,
                        help="percent scripts (default: notebooks/NN_*.py and notebooks/solutions/NN_*.py)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is out of date")
    parser.add_argument("--no-sync", action="store_true", help="do not update the paired .ipynb files")
    args = parser.parse_args(argv)
    repo = repository()
    scripts = args.scripts or notebook_scripts()
    if not scripts:
        parser.error(f"no notebooks/NN_*.py under {_CHECKOUT}")
    changed = [script for script in scripts
               if update_notebook(script, repo, write=not args.check, sync=not args.no_sync)]
    verb = "out of date" if args.check else "updated"
    print(f"{repo.url}: {len(changed)} of {len(scripts)} notebooks {verb}"
          + (": " + ", ".join(script.name for script in changed) if changed else ""))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
