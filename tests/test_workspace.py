"""open_workspace: one call gives a notebook its size, corpus, features and stored runs."""

import numpy as np
import pytest

from mdrbench.results import load_run
from mdrbench.sizes import get_size, with_overrides
from mdrbench.synth import SYNONYMS, clean_tag_matrix
from mdrbench.workspace import CI_CAVEAT, missing_runs, open_workspace

TINY = with_overrides(get_size("ci"), name="tiny", n_tracks=50, max_epochs=2, steps_per_epoch=2, batch_size=8,
                      seeds=1)


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    """The workspace, and what opening it printed (it had to train its one run)."""
    import contextlib
    import io

    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setenv("MDRBENCH_HOME", str(tmp_path_factory.mktemp("home")))
        workspace = open_workspace(TINY, runs=["proxy-norm-full"], progress=False)
    return workspace, printed.getvalue()


@pytest.fixture(scope="module")
def workspace(opened):
    return opened[0]


def test_runs_it_has_to_train_are_announced_first(opened):
    workspace, printed = opened
    assert printed.index("1 runs of size tiny are not stored yet (proxy-norm-full)") < printed.index("size tiny:")
    assert missing_runs(workspace.results_folder, ["proxy-norm-full", "classification-norm-full"], [0]) == []
    assert missing_runs(workspace.results_folder, ["proxy-norm-dis"], [0, 1]) == [("proxy-norm-dis", 0),
                                                                                  ("proxy-norm-dis", 1)]


def test_it_reads_the_stored_runs_of_its_own_size(workspace, tmp_path_factory):
    assert workspace.size is TINY and len(workspace.corpus) == 50
    assert workspace.results_folder.name == "tiny" and workspace.results_folder.parent.name == "results"
    assert workspace.seeds == [0]
    run = workspace.run("proxy-norm-full")
    assert run is workspace.run("proxy-norm-full")  # read once
    stored = load_run(workspace.results_folder, "proxy-norm-full", 0)
    np.testing.assert_array_equal(run.test_embeddings, stored.test_embeddings)
    assert run.test_embeddings.shape[0] == len(workspace.test_tracks) == workspace.test_labels.shape[0]
    assert [r.folder for r in workspace.runs("proxy-norm-full")] == [run.folder]
    # classification-norm-full is the same function, trained once as proxy-norm-full
    assert workspace.run("classification-norm-full").folder == run.folder


def test_the_test_split_and_its_labels_line_up(workspace):
    corpus = workspace.corpus
    assert set(workspace.train_tracks).isdisjoint(workspace.test_tracks)
    assert (corpus.splits[workspace.test_tracks] == "test").all()
    np.testing.assert_array_equal(workspace.test_labels, corpus.tags[workspace.test_tracks].astype(bool))
    assert list(workspace.test_factors["genre"]) == list(corpus.factors["genre"].iloc[workspace.test_tracks])
    assert workspace.tag_categories.shape == (len(workspace.tag_names),)
    assert set(workspace.subspaces()) == {"genre", "mood", "instrument", "era"}


def test_clean_tags_mark_each_factor_value_and_its_synonyms(workspace):
    corpus, clean = workspace.corpus, workspace.clean_tags
    assert clean.shape == corpus.tags.shape and clean.dtype == bool
    names = workspace.tag_names
    for row in (0, 7, 31):
        factors = corpus.factors.iloc[row]
        expected = {tag for tag in names if SYNONYMS.get(tag, tag) in set(factors)}
        assert {names[i] for i in np.flatnonzero(clean[row])} == expected
    # one canonical tag per category, plus its synonyms
    canonical = np.array([tag not in SYNONYMS for tag in names])
    assert (clean[:, canonical].sum(axis=1) == 4).all()
    # the observed tags are drawn from these: most observed tags are true
    observed = corpus.tags.astype(bool)
    assert (observed & clean).sum() / observed.sum() > 0.8
    np.testing.assert_array_equal(clean_tag_matrix(corpus.factors, corpus.vocabulary), clean)


def test_summary_says_what_the_numbers_rest_on(workspace):
    text = workspace.summary()
    assert "size tiny" in text and "seeds [0]" in text
    # one run (classification-norm-full is proxy-norm-full, counted once); a 2-epoch cap: not converged, said so
    assert "runs by how they stopped: {'cap': 1}" in text
    assert "1 runs did not stop by their learning-rate schedule" in text
    assert CI_CAVEAT not in text  # the caveat belongs to ci only


def test_without_runs_it_says_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("MDRBENCH_HOME", str(tmp_path))
    workspace = open_workspace(TINY, runs=False)
    with pytest.raises(ValueError, match="runs=True"):
        workspace.seeds  # noqa: B018
    with pytest.raises(FileNotFoundError, match="mdrbench bench"):
        workspace.run("proxy-norm-full")
