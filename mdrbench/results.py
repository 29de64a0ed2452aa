"""Result files of a benchmark: atomic writes, reading runs back, the manifest of what was run.

Both the grid runner (:mod:`mdrbench.bench`) and the report (:mod:`mdrbench.report`) import this module, and
neither imports the other's internals for files. Layout of a results folder::

    OUT/benchmark.json                 the manifest: size, corpus fingerprint, front-end, budget
    OUT/runs/CONFIG/seedN/result.json  one finished run (written atomically, last)
    OUT/runs/CONFIG/seedN/...          model.keras, history.json, test embeddings and tag scores
    OUT/baselines/NAME/seedN/result.json  the random and mel-statistics baselines, same schema
    OUT/timing.json                    the cost of one training step per configuration (interleaved)

A run counts as done only when its ``result.json`` exists, parses and has this version, so killing the
benchmark at any point and starting it again redoes at most the run that was in flight.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RESULT_VERSION = 2  # 2: a `training` block with stopped_by, baselines, sub-space tag scores, logit AUC


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def atomic_write_json(path: str | Path, value) -> None:
    atomic_write_text(path, json.dumps(value, indent=1))


def atomic_save_npy(path: str | Path, array: np.ndarray) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npy")
    os.close(descriptor)
    np.save(temporary, array, allow_pickle=False)
    os.replace(temporary, path)


class UnreadableResult(ValueError):
    """A result.json that exists but cannot be used (corrupt, or written by another version)."""


def read_result(run_dir: str | Path) -> dict | None:
    """A finished run's result; None when the run has not finished (no result.json).

    Raises:
        UnreadableResult: the file exists but does not parse or has another version; the message names the
            file and says that ``mdrbench bench`` will redo the run.
    """
    path = Path(run_dir) / "result.json"
    if not path.exists():
        return None
    try:
        result = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as error:
        raise UnreadableResult(f"{path} is unreadable ({error}); `mdrbench bench` will redo this run.") from None
    if not isinstance(result, dict) or result.get("version") != RESULT_VERSION:
        version = result.get("version") if isinstance(result, dict) else None
        raise UnreadableResult(f"{path} has result version {version}, this mdrbench writes {RESULT_VERSION}; "
                               f"`mdrbench bench` will redo this run.")
    return result


def load_result(run_dir: str | Path) -> dict | None:
    """A finished run's result, or None when it is missing, unfinished or unreadable (the runner's view:
    anything but a good result.json means "run it")."""
    try:
        return read_result(run_dir)
    except UnreadableResult:
        return None


def scan_results(folder: str | Path, kind: str = "runs") -> tuple[list[dict], list[str]]:
    """Every finished result under ``folder/kind/*/seed*`` and one line per unreadable result.json.

    Returns (results, problems); ``kind`` is "runs" (trained models) or "baselines".
    """
    results, problems = [], []
    for run_dir in sorted(Path(folder).glob(f"{kind}/*/seed*")):
        try:
            result = read_result(run_dir)
        except UnreadableResult as error:
            problems.append(str(error))
            continue
        if result is not None:
            results.append(result)
    return results, problems


def run_folder(out_dir: str | Path, config: str, seed: int) -> Path:
    return Path(out_dir) / "runs" / config / f"seed{seed}"


def baseline_folder(out_dir: str | Path, name: str, seed: int) -> Path:
    return Path(out_dir) / "baselines" / name / f"seed{seed}"


@dataclass
class Run:
    """One finished benchmark run, loaded back: its metrics, training history and test-set arrays."""

    folder: Path
    result: dict
    history: dict
    test_embeddings: np.ndarray
    test_tag_scores: np.ndarray
    test_track_ids: np.ndarray
    _model: object = None

    @property
    def model(self):
        """The trained model (loaded from model.keras on first use)."""
        if self._model is None:
            from mdrbench.train import load_trained

            self._model, _ = load_trained(self.folder)
        return self._model


def load_run(out_dir: str | Path, config: str, seed: int = 0) -> Run:
    """A finished run of ``mdrbench bench`` read back from ``out_dir`` (the arrays search and notebooks use).

    ``classification-norm-full`` is trained once as ``proxy-norm-full`` (the same function), so asking for it
    returns that run.
    """
    from mdrbench.configs import trained_as

    folder = run_folder(out_dir, trained_as(config), seed)
    result = read_result(folder)
    if result is None:
        raise FileNotFoundError(f"{folder} holds no finished run; run `mdrbench bench --out {out_dir}` "
                                f"(or mdrbench.bench.run_benchmark) first.")
    history = json.loads((folder / "history.json").read_text()) if (folder / "history.json").exists() else {}

    def array(name):
        return np.load(folder / name, allow_pickle=False)

    return Run(folder, result, history, array("test_embeddings.npy"), array("test_tag_scores.npy"),
               array("test_track_ids.npy"))


def read_manifest(out_dir: str | Path) -> dict:
    path = Path(out_dir) / "benchmark.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}


def check_manifest(out_dir: str | Path, manifest: dict) -> None:
    """Refuse to mix results of two different benchmarks in one folder; write the manifest."""
    out_dir = Path(out_dir)
    earlier = read_manifest(out_dir)
    if earlier and earlier != manifest:
        differences = {k: (earlier.get(k), v) for k, v in manifest.items() if earlier.get(k) != v}
        raise ValueError(f"{out_dir} holds results of another benchmark ({differences}: was, now). "
                         f"Fix: choose another --out folder, or delete {out_dir} to start over.")
    atomic_write_json(out_dir / "benchmark.json", manifest)
