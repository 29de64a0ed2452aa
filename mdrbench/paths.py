"""Where mdrbench keeps what it generates: ``$MDRBENCH_HOME``, else ``~/.cache/mdrbench``."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "MDRBENCH_HOME"


def home() -> Path:
    """Root folder for generated corpora, feature caches and notebook results (never in git)."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".cache" / "mdrbench")


def results_dir(size_name: str) -> Path:
    """The benchmark results folder the notebooks share for one size."""
    return home() / "results" / size_name
