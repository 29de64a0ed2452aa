"""A notebook's world in one call: the size, the corpus, its features and the benchmark's stored runs.

Every notebook starts the same way: pick the size (``$MDRBENCH_SIZE``, ``ci`` by default in a notebook), load
or generate the synthetic corpus of that size, load or compute its log-mels, and read the benchmark's
finished runs (training whatever is missing, once, for every notebook after it). :func:`open_workspace`
does all of that and says in one paragraph what the numbers below rest on::

    workspace = open_workspace()
    run = workspace.run("proxy-norm-dis")          # seed 0's stored test embeddings, tag scores, model
    workspace.test_labels.shape                    # (n_test, n_tags), the observed (noisy) tags

Where the runs come from is decided once, whole, and said in the summary (never mixed in one table):

1. your own runs of the size (``~/.cache/mdrbench/results/SIZE``), when that folder holds any: missing runs
   are trained into it;
2. else the reference results that ship with mdrbench (:mod:`mdrbench.reference`, the ``default`` benchmark),
   when they check out against the current code and this corpus: read-only, nothing is trained or written;
3. else a line says why the reference results are not used, and the runs are trained as in 1.

A notebook opened without ``$MDRBENCH_SIZE`` opens at ``default`` when the reference results are usable (the
corpus and its features are then the only work), else at ``ci``.

The workspace only reads: it never writes outside your own results folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from mdrbench.bench import config_names, planned_runs, run_benchmark, seed_numbers
from mdrbench.configs import trained_as
from mdrbench.corpus import CATEGORIES, Corpus
from mdrbench.features import FRONTENDS, FeatureStore, compute_features
from mdrbench.paths import results_dir
from mdrbench.reference import Reference, open_reference
from mdrbench.report import collect_results
from mdrbench.results import (
    RESULT_VERSION,
    Run,
    RunFolder,
    load_result,
    load_run,
    read_manifest,
    run_folder,
    scan_results,
)
from mdrbench.sizes import SIZE_ENV, Size, get_size
from mdrbench.subspaces import subspace_slices
from mdrbench.synth import clean_tag_matrix, ensure_corpus

NOTEBOOK_SIZE = "ci"  # without $MDRBENCH_SIZE and without usable reference results: seconds, not hours
REFERENCE_SIZE = "default"  # the size whose reference results ship with the package
SOURCES = ("auto", "own", "reference")
# What training a size's whole benchmark from nothing takes, measured on 2 CPU cores (README, benchmarks/README).
FIRST_RUN_TIME = {"ci": "about 5 minutes on 2 CPU cores", "default": "about 40 minutes per seed on 2 CPU cores",
                  "full": "hours, on a GPU"}
CI_CAVEAT = ("ci decides nothing: two seeds give the seed part of every interval one degree of freedom (a 95% t "
             "quantile of 12.7) and a few dozen test tracks a wide query part, so its verdicts show the method, "
             "not the result. At MDRBENCH_SIZE=default the report's findings say what that design decides and, "
             "in their power sentences, what it cannot.")


@dataclass
class Workspace:
    """The size, corpus, features and stored benchmark runs a notebook works on.

    Attributes:
        size: the :class:`~mdrbench.sizes.Size` (corpus, budget, seeds).
        corpus: the synthetic corpus of that size (:class:`~mdrbench.corpus.Corpus`).
        features: its cached log-mels (:class:`~mdrbench.features.FeatureStore`).
        results_folder: the benchmark's results folder for the size, shared by all notebooks.
        results: one row per finished run and baseline (:func:`mdrbench.bench.run_benchmark`), or None when the
            workspace was opened with ``runs=False``.
    """

    size: Size
    corpus: Corpus
    features: FeatureStore
    results_folder: Path
    results: pd.DataFrame | None = None
    reference: Reference | None = None
    _runs: dict = field(default_factory=dict, repr=False)

    @property
    def source(self) -> str:
        """Where the runs come from: "reference" (shipped with mdrbench, read-only), "own" or "none"."""
        if self.results is None:
            return "none"
        return "reference" if self.reference is not None else "own"

    # --- the corpus, split and labelled -------------------------------------------------------------------
    @cached_property
    def train_tracks(self) -> np.ndarray:
        """Corpus row indices of the training split, (n_train,)."""
        return self.corpus.split_indices("train")

    @cached_property
    def test_tracks(self) -> np.ndarray:
        """Corpus row indices of the test split, (n_test,): row i of every stored test array is track i here."""
        return self.corpus.split_indices("test")

    @property
    def tag_names(self) -> list[str]:
        return list(self.corpus.vocabulary.tags)

    @property
    def tag_categories(self) -> np.ndarray:
        """The category of each tag, (n_tags,)."""
        return np.asarray(self.corpus.vocabulary.categories)

    @cached_property
    def test_labels(self) -> np.ndarray:
        """The observed (noisy, Last.fm-like) tags of the test tracks, (n_test, n_tags) bool."""
        return self.corpus.tags[self.test_tracks].astype(bool)

    @cached_property
    def test_factors(self) -> pd.DataFrame:
        """The clean factors (genre, mood, instrument, era) of the test tracks, one row per test track."""
        return self.corpus.factors.iloc[self.test_tracks].reset_index(drop=True)[list(CATEGORIES)]

    @cached_property
    def clean_tags(self) -> np.ndarray:
        """The noise-free tags of every track, (n_tracks, n_tags) bool (:func:`mdrbench.synth.clean_tag_matrix`)."""
        return clean_tag_matrix(self.corpus.factors, self.corpus.vocabulary)

    def subspaces(self, dimensions: int = 256) -> dict[str, slice]:
        """The four fixed sub-spaces (genre, mood, instrument, era) of an embedding of ``dimensions``."""
        return subspace_slices(dimensions)

    # --- the stored runs ----------------------------------------------------------------------------------
    @property
    def result_seeds(self) -> list[int]:
        """Every seed in the results table (the intervals and findings use them all), sorted."""
        return sorted(int(seed) for seed in self._models()["seed"].unique())

    @cached_property
    def seeds(self) -> list[int]:
        """The seeds whose runs keep their test embeddings and models, sorted: all of them for your own runs,
        seed 0 in the reference results (which keep the other seeds' results and evidence only)."""
        configs = {trained_as(config) for config in self._models()["config"]}
        return [seed for seed in self.result_seeds
                if all(RunFolder(run_folder(self.results_folder, config, seed)).has_embeddings() for config in configs)]

    def run(self, config: str, seed: int = 0) -> Run:
        """One finished run (metrics, history, test arrays, model), checked to follow this corpus's test split."""
        key = (config, seed)
        if key not in self._runs:
            run = load_run(self.results_folder, config, seed)
            if not np.array_equal(run.test_track_ids, self.corpus.track_ids[self.test_tracks]):
                raise ValueError(f"the stored run {run.folder} was made on another corpus than {self.corpus.root}: "
                                 f"delete {self.results_folder} and open the workspace again to retrain it.")
            self._runs[key] = run
        return self._runs[key]

    def runs(self, config: str) -> list[Run]:
        """The finished runs of one configuration, one per seed."""
        return [self.run(config, seed) for seed in self.seeds]

    def _models(self) -> pd.DataFrame:
        if self.results is None:
            raise ValueError("this workspace was opened with runs=False; open_workspace(runs=True) reads the runs.")
        return self.results[self.results["kind"] == "model"]

    # --- what the numbers rest on -------------------------------------------------------------------------
    def summary(self) -> str:
        """A paragraph: the size, the corpus, and (with runs) how many seeds and how the runs stopped."""
        lines = [f"size {self.size.name}: {self.corpus}"]
        if self.results is not None:
            models = self._models().drop_duplicates(["config", "seed"])
            trained = models[models["same_as"].isna()] if "same_as" in models else models  # an alias is no run
            stopped = trained["stopped_by"].value_counts().to_dict() if "stopped_by" in trained else {}
            where = (self.reference.describe() + f". Your own runs (in {results_dir(self.size.name)}) would "
                     "replace them whole." if self.reference is not None else f"your own runs in {self.results_folder}")
            lines.append(f"results: {where}")
            lines.append(f"{models['config'].nunique()} configurations, seeds {self.result_seeds} (embeddings and "
                         f"models: seeds {self.seeds}); runs by how they stopped: {stopped}")
            unconverged = sum(count for how, count in stopped.items() if how != "schedule")
            if unconverged:
                lines.append(f"{unconverged} runs did not stop by their learning-rate schedule (not converged): "
                             "their numbers feed no finding.")
        if self.size.name == "ci":
            lines.append(CI_CAVEAT)
        return "\n".join(lines)


def missing_runs(results_folder: str | Path, configs: list[str], seeds: list[int]) -> list[tuple[str, int]]:
    """The (configuration, seed) runs the benchmark would train for these, because no finished run is stored."""
    return [(config, seed) for config, seed in planned_runs(configs, seeds)
            if load_result(run_folder(results_folder, config, seed)) is None]


def has_own_runs(size_name: str) -> bool:
    """Whether your own results folder of a size holds any finished run (then it is used, whole)."""
    results, _ = scan_results(results_dir(size_name), "runs")
    return bool(results)


def own_runs_problem(size: Size, corpus: Corpus) -> str | None:
    """Why your own results folder of a size cannot be read with this corpus and code, or None."""
    folder = results_dir(size.name)
    manifest = read_manifest(folder)
    if manifest.get("corpus_fingerprint") not in (None, corpus.fingerprint()):
        return (f"{folder} was made on another corpus, or under an older corpus identity rule (fingerprint "
                f"{manifest.get('corpus_fingerprint')}, this corpus {corpus.fingerprint()}). Fix: delete {folder} "
                f"(or move it away) to see the reference results or retrain; `mdrbench bench --out` another folder "
                f"keeps both.")
    if manifest.get("result_version") not in (None, RESULT_VERSION):
        return (f"{folder} holds result version {manifest.get('result_version')}, this mdrbench writes "
                f"{RESULT_VERSION}. Fix: delete {folder} to see the reference results or retrain.")
    return None


def notebook_size() -> str:
    """The size a notebook opens at without ``$MDRBENCH_SIZE``: ``default`` when the reference results are
    usable or your own ``default`` runs exist, else ``ci`` (and one line says why)."""
    if has_own_runs(REFERENCE_SIZE):
        return REFERENCE_SIZE
    reference = open_reference(REFERENCE_SIZE)
    if reference.usable:
        return REFERENCE_SIZE
    print(f"{reference.problem} Opening at {NOTEBOOK_SIZE} instead.", flush=True)
    return NOTEBOOK_SIZE


def choose_reference(size: Size, corpus: Corpus, source: str = "auto") -> Reference | None:
    """The reference results to read instead of your own runs, or None (your own are used, or trained)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}.")
    if source == "own":
        return None
    if source == "auto" and has_own_runs(size.name):
        stale = own_runs_problem(size, corpus)
        if stale is None:
            return None
        print(f"Your own runs of size {size.name} are not used: {stale}", flush=True)
    reference = open_reference(size.name, corpus)
    if reference.usable:
        return reference
    if source == "reference" or size.name == REFERENCE_SIZE:  # a size without a bundle trains in silence
        if source == "reference":
            raise ValueError(reference.problem)
        print(f"{reference.problem} Training your own runs instead.", flush=True)
    return None


def open_workspace(size: str | Size | None = None, runs: bool | list[str] = True, seeds: int | list[int] | None = None,
                   progress: bool = True, source: str = "auto") -> Workspace:
    """Open (building what is missing) the corpus, features and benchmark runs of one size, and print a summary.

    Args:
        size: a size name or Size; default ``$MDRBENCH_SIZE``, else ``ci``.
        runs: True reads every configuration's runs, a list reads those configurations only, False none.
            Runs that are missing are trained first by :func:`mdrbench.bench.run_benchmark`, which resumes:
            the first notebook to need them trains them (about 5 minutes at ci on 2 cores), later ones load.
        seeds: the seeds to read (a count or a list); default the size's.
        progress: show progress while generating, extracting or training (nothing shows when all is stored).
            Runs that have to be trained are announced first, with how long they take.
        source: "auto" (your own runs if any, else the reference results, else train), "own" (your own,
            training what is missing) or "reference" (the shipped results, an error if unusable).

    Returns a :class:`Workspace`.
    """
    if not isinstance(size, Size):
        size = get_size(size or os.environ.get(SIZE_ENV) or notebook_size())
    corpus = ensure_corpus(size, progress=progress)
    features = compute_features(corpus, FRONTENDS[size.frontend], progress=progress)
    folder = results_dir(size.name)
    results, reference = None, None
    if runs:
        reference = choose_reference(size, corpus, source)
    if reference is not None:
        folder = reference.folder
        results = collect_results(folder)  # reads only: the bundle is never written to
        if seeds is not None:
            results = results[results["seed"].isin(seed_numbers(size, seeds))].reset_index(drop=True)
            results.attrs["folder"] = str(folder)
    elif runs:
        names = config_names("all" if runs is True else runs)
        missing = missing_runs(folder, names, seed_numbers(size, seeds))
        if missing:
            configs = ", ".join(sorted({config for config, _ in missing}))
            print(f"{len(missing)} runs of size {size.name} are not stored yet ({configs}): training them now. "
                  f"The whole benchmark takes {FIRST_RUN_TIME.get(size.name, 'a while')}; "
                  "`mdrbench bench` does the same from a terminal. Later notebooks load them.", flush=True)
        results = run_benchmark(size=size, configs=names, seeds=seeds, out_dir=folder, corpus=corpus,
                                progress=progress, verbose=1 if missing and progress else 0)
    workspace = Workspace(size, corpus, features, folder, results, reference)
    print(workspace.summary())
    return workspace
