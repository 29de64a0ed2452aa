"""The reference results that ship with mdrbench match the code: version, report, models and corpus.

The first tests read the bundle in the package (made from the ``default`` benchmark); the last ones make a
tiny bundle of their own to check how the workspace chooses between it and your own runs.
"""

import contextlib
import io
import json

import numpy as np
import pytest

import mdrbench
from mdrbench import reference as reference_module
from mdrbench.reference import build_reference, open_reference, reference_folder
from mdrbench.results import RESULT_VERSION, RunFolder, load_run, run_folder
from mdrbench.sizes import get_size, split_counts, with_overrides

BUNDLE = reference_folder("default")
MODEL_CONFIG = "proxy-norm-dis"  # one bundled model re-embeds a few test tracks of the regenerated corpus
N_TRACKS_TO_RENDER = 3


@pytest.fixture(scope="module")
def bundle():
    reference = open_reference("default")
    assert reference.usable, reference.problem
    return reference


def test_the_bundle_is_current_small_and_says_where_it_comes_from(bundle):
    provenance = bundle.provenance
    assert provenance["result_version"] == RESULT_VERSION
    assert provenance["bytes_total"] <= 26e6  # "at most about 25 MB" (24.4 MiB)
    assert sum(provenance["bytes_per_part"].values()) == provenance["bytes_total"]
    for key in ("command", "machine", "precision", "wall_seconds", "results_made", "bundled_by_commit"):
        assert provenance[key], key
    assert provenance["runs"] == 21 and provenance["model_seeds"] == [0]
    # every run keeps its results and evidence; seed 0 its model and float16 embeddings
    seed0 = RunFolder(run_folder(BUNDLE, MODEL_CONFIG, 0))
    assert seed0.has_embeddings() and (seed0.path / "model.keras").exists()
    assert np.load(seed0.path / "test_embeddings.npy").dtype == np.float16
    assert not RunFolder(run_folder(BUNDLE, MODEL_CONFIG, 1)).has_embeddings()
    with pytest.raises(FileNotFoundError, match="seed 0 only"):
        load_run(BUNDLE, MODEL_CONFIG, 1)


def test_the_report_rebuilds_unchanged_from_the_bundle(bundle):
    """`mdrbench report` on the bundle: its tables and findings, as the current code computes them from the
    stored runs and evidence, are the ones it ships (report.md)."""
    from mdrbench.report import collect_results, markdown_report, report_sections

    results = collect_results(BUNDLE)
    assert not results.attrs["problems"] and set(results["seed"]) == {0, 1, 2}
    assert markdown_report(report_sections(BUNDLE, results)) == (BUNDLE / "report.md").read_text()
    # nothing was written into the bundle
    files = {p.relative_to(BUNDLE).as_posix() for p in BUNDLE.rglob("*") if p.is_file()}
    assert files == set(bundle.provenance["files"]) | {"provenance.json"}


def _render_test_tracks(size, indices, folder):
    """The corpus rows ``indices`` of the synthetic corpus of ``size``, rendered here, written and read back
    as the benchmark does (16-bit files), as a small corpus folder."""
    from mdrbench.corpus import Corpus
    from mdrbench.synth.factors import draw_factors
    from mdrbench.synth.generate import draw_splits
    from mdrbench.synth.render import render_track
    from mdrbench.synth.tags import draw_tags

    factors = draw_factors(size.n_tracks, 0, size.min_duration, size.max_duration)
    vocabulary, tags = draw_tags(factors, 0)
    splits = draw_splits(size.n_tracks, 0, split_counts(size))
    rows = factors.iloc[indices]
    audio = [render_track(row, size.sample_rate) for row in rows.to_dict("records")]
    corpus = Corpus(track_ids=np.array([f"synth-{i:06d}" for i in indices]), sample_rate=size.sample_rate,
                    durations=np.array([len(a) / size.sample_rate for a in audio]), vocabulary=vocabulary,
                    tags=tags[indices], splits=splits[indices], factors=rows.reset_index(drop=True),
                    info={"name": "rendered-test-tracks"}, _audio=audio)
    corpus.save(folder, progress=False)
    return Corpus.load(folder), splits


def test_a_bundled_model_gives_its_stored_embeddings_back_on_a_regenerated_corpus(bundle, tmp_path):
    from mdrbench.features import FRONTENDS, compute_features
    from mdrbench.models import embed_tracks

    size = get_size("default")
    stored = load_run(BUNDLE, MODEL_CONFIG, 0)
    from mdrbench.synth.generate import draw_splits

    test_rows = np.flatnonzero(draw_splits(size.n_tracks, 0, split_counts(size)) == "test")
    indices = test_rows[:N_TRACKS_TO_RENDER]
    corpus, _ = _render_test_tracks(size, indices, tmp_path / "corpus")
    features = compute_features(corpus, FRONTENDS[size.frontend], cache_dir=False, progress=False)
    model = mdrbench.load_model(stored.folder / "model.keras")
    embedded = embed_tracks(model, features, np.arange(len(indices)))
    positions = [int(np.flatnonzero(stored.test_track_ids == track_id)[0]) for track_id in corpus.track_ids]
    # the stored embeddings are float16: their rounding (2**-11 relative, under 5e-4 for unit vectors) bounds it
    np.testing.assert_allclose(embedded, stored.test_embeddings[positions], rtol=0, atol=1e-3)


def test_the_regenerated_corpus_has_the_bundles_test_split(bundle):
    from mdrbench.synth.generate import draw_splits

    size = get_size("default")
    stored = load_run(BUNDLE, MODEL_CONFIG, 0)
    test_rows = np.flatnonzero(draw_splits(size.n_tracks, 0, split_counts(size)) == "test")
    np.testing.assert_array_equal(stored.test_track_ids, [f"synth-{i:06d}" for i in test_rows])


# --- a tiny bundle of our own: how the workspace chooses -----------------------------------------------------
TINY = with_overrides(get_size("ci"), name="tiny", n_tracks=50, max_epochs=2, steps_per_epoch=2, batch_size=8,
                      seeds=1)


def _quietly(function, *args, **kwargs):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        value = function(*args, **kwargs)
    return value, printed.getvalue()


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    """A reference root holding a bundle of the tiny size, made from a home that trained its one run."""
    from mdrbench.workspace import open_workspace

    home, root = tmp_path_factory.mktemp("trained"), tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MDRBENCH_HOME", str(home))
        workspace, _ = _quietly(open_workspace, TINY, runs=["proxy-norm-full"], progress=False)
        build_reference(workspace.results_folder, out=root / "tiny", corpus=workspace.corpus, wall_seconds=1.0)
    return root, home


def test_without_own_runs_the_workspace_reads_the_bundle_and_writes_nothing(tiny_bundle, tmp_path, monkeypatch):
    from mdrbench.workspace import open_workspace

    tiny_bundle, _ = tiny_bundle
    monkeypatch.setattr(reference_module, "REFERENCE_ROOT", tiny_bundle)
    monkeypatch.setenv("MDRBENCH_HOME", str(tmp_path))  # a fresh machine: the corpus is made again here
    files = {p: p.stat().st_mtime_ns for p in (tiny_bundle / "tiny").rglob("*")}
    workspace, printed = _quietly(open_workspace, TINY, progress=False)
    assert workspace.source == "reference" and workspace.results_folder == tiny_bundle / "tiny"
    assert "reference results that ship with mdrbench" in printed and "not stored yet" not in printed
    assert workspace.seeds == [0] and workspace.result_seeds == [0]
    assert workspace.run("proxy-norm-full").test_embeddings.dtype == np.float32
    assert {p: p.stat().st_mtime_ns for p in (tiny_bundle / "tiny").rglob("*")} == files
    assert not (tmp_path / "results" / "tiny").exists()  # nothing trained


def test_own_runs_take_precedence_whole(tiny_bundle, monkeypatch):
    from mdrbench.workspace import has_own_runs, open_workspace

    root, home = tiny_bundle  # the home that trained the bundle's run holds runs of its own
    monkeypatch.setattr(reference_module, "REFERENCE_ROOT", root)
    monkeypatch.setenv("MDRBENCH_HOME", str(home))
    assert has_own_runs("tiny")
    own, printed = _quietly(open_workspace, TINY, progress=False)
    assert own.source == "own" and own.results_folder == home / "results" / "tiny"
    assert "your own runs in" in printed and "ship with mdrbench" not in printed


def test_a_damaged_or_outdated_bundle_is_never_used_silently(tiny_bundle, tmp_path, monkeypatch):
    import shutil

    from mdrbench.workspace import open_workspace

    root = tmp_path / "reference"
    shutil.copytree(tiny_bundle[0], root)
    monkeypatch.setattr(reference_module, "REFERENCE_ROOT", root)
    monkeypatch.setenv("MDRBENCH_HOME", str(tmp_path / "home"))
    evidence = next((root / "tiny" / "runs").rglob("evidence.npz"))
    evidence.write_bytes(evidence.read_bytes()[:-10])
    problem = open_reference("tiny").problem
    assert "evidence.npz is damaged" in problem and "Fix: refresh it" in problem
    with pytest.raises(ValueError, match="damaged"):
        _quietly(open_workspace, TINY, source="reference", progress=False)

    provenance = json.loads((root / "tiny" / "provenance.json").read_text())
    provenance["result_version"] = RESULT_VERSION - 1
    (root / "tiny" / "provenance.json").write_text(json.dumps(provenance))
    assert f"result version {RESULT_VERSION - 1}" in open_reference("tiny").problem
    assert "none ship" in open_reference("nonexistent").problem


def test_a_bundle_made_on_another_corpus_is_refused(tiny_bundle):
    from mdrbench.synth import synthesize

    other = synthesize(with_overrides(TINY, n_tracks=40), seed=1, progress=False)
    problem = open_reference("tiny", other, folder=tiny_bundle[0] / "tiny").problem
    assert "made on another corpus" in problem


def test_own_runs_of_another_corpus_give_way_to_the_bundle_with_a_line(tiny_bundle, tmp_path, monkeypatch):
    import shutil

    from mdrbench.workspace import open_workspace

    root, home = tiny_bundle
    stale_home = tmp_path / "home"
    shutil.copytree(home / "results", stale_home / "results")
    manifest_path = stale_home / "results" / "tiny" / "benchmark.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["corpus_fingerprint"] = "0000000000000000"  # made under an older identity rule, say
    manifest_path.write_text(json.dumps(manifest))
    monkeypatch.setattr(reference_module, "REFERENCE_ROOT", root)
    monkeypatch.setenv("MDRBENCH_HOME", str(stale_home))
    workspace, printed = _quietly(open_workspace, TINY, progress=False)
    assert workspace.source == "reference"
    assert "Your own runs of size tiny are not used" in printed and "Fix: delete" in printed
