"""Any model in: HEAR modules and functions scored on the study's tasks, the embedding cache, bad modules, the
exported run (its own numbers back through the plug-in), the HEAR validator's checks, hearbaseline's naive."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mdrbench import paths
from mdrbench.evaluate import ModelEmbedder, evaluate, make_evaluation_sets
from mdrbench.features import compute_features
from mdrbench.plugins import (
    HEAR_SAMPLE_RATES,
    AudioExcerptEmbedder,
    PluginError,
    function_model,
    load_hear_module,
)
from mdrbench.scoring import fit_subspace_projection, score_embedder, score_model
from mdrbench.synth import synthesize

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py
AMBIENT_HOME = paths.home()  # where the ci corpus lives (CI's `mdrbench bench` made it); read before `tiny` moves it

GOOD_MODULE = """
import os
import torch

CALLS = [0]


class Model(torch.nn.Module):
    sample_rate = {rate}
    scene_embedding_size = 8
    timestamp_embedding_size = 8


def load_model(model_file_path=""):
    return Model()


def get_scene_embeddings(audio, model):
    CALLS[0] += 1
    if os.environ.get("PLUGIN_FAIL_AFTER") and CALLS[0] > int(os.environ["PLUGIN_FAIL_AFTER"]):
        raise RuntimeError("the module broke on purpose")
    embeddings = torch.stack([audio[:, i::8].pow(2).mean(dim=1).sqrt() for i in range(8)], dim=1)
    {tail}
    return embeddings


def get_timestamp_embeddings(audio, model):
    return torch.zeros(audio.shape[0], 1, 8), torch.zeros(audio.shape[0], 1)
"""


def write_module(folder: Path, name: str = "good", rate: int = 16000, tail: str = "", drop: str = "",
                 header: str = "") -> Path:
    source = header + GOOD_MODULE.format(rate=rate, tail=tail)
    if drop:  # remove one function (its def line up to the next blank line pair)
        start = source.index(f"def {drop}(")
        end = source.find("\n\n\n", start)
        source = source[:start] + (source[end + 3:] if end >= 0 else "")
    path = folder / f"{name}.py"
    path.write_text(source)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plugins")
    home = os.environ.get("MDRBENCH_HOME")
    os.environ["MDRBENCH_HOME"] = str(folder / "home")  # the embedding cache of these tests
    corpus = synthesize("ci", seed=1, n_tracks=60, progress=False).save(folder / "corpus")
    features = compute_features(corpus, "compact", cache_dir=False, progress=False)
    sets = make_evaluation_sets(corpus, features)
    yield folder, corpus, features, sets
    if home is None:
        os.environ.pop("MDRBENCH_HOME", None)
    else:
        os.environ["MDRBENCH_HOME"] = home


# --------------------------------------------------------------------------------------------- bad modules
@pytest.mark.parametrize("case, expected", [
    (dict(drop="get_timestamp_embeddings"), "no get_timestamp_embeddings function"),
    (dict(header="import not_a_real_package_xyz\n"), "importing it raised ModuleNotFoundError"),
    (dict(rate=8000), "sample_rate 8000 is not one mdrbench can feed"),
])
def test_a_module_that_cannot_load_names_itself_the_problem_and_the_fix(tmp_path, case, expected):
    path = write_module(tmp_path, **case)
    with pytest.raises(PluginError) as error:
        load_hear_module(path)
    message = str(error.value)
    assert message.startswith(str(path)) and expected in message and "Fix:" in message
    assert "\n" not in message


def test_a_missing_module_and_a_missing_weights_file_are_named(tmp_path):
    with pytest.raises(PluginError, match="no module of that name is installed"):
        load_hear_module("not_an_installed_hear_module")
    with pytest.raises(PluginError, match="no such file"):
        load_hear_module(tmp_path / "absent.py")
    with pytest.raises(PluginError, match="weights file .* does not exist"):
        load_hear_module(write_module(tmp_path), model_file=tmp_path / "absent.pt")


@pytest.mark.parametrize("tail, expected", [
    ("embeddings = embeddings.double()", "returned a torch.float64 tensor"),
    ("embeddings = embeddings[:, None]", "returned shape"),
    ("embeddings = embeddings[:-1]", "rows for a batch of"),
    ("embeddings[0, 0] = float('nan')", "NaN or infinite values for 1 of"),
    ("embeddings = embeddings[:, :5]", "returned 5 dimensions but declares 8"),
    ("embeddings = embeddings.tolist()", "returned a list, not a tensor"),
])
def test_a_module_whose_output_is_wrong_gets_one_clear_line(tmp_path, tail, expected):
    model = load_hear_module(write_module(tmp_path, tail=tail))
    with pytest.raises(PluginError) as error:
        model.embed(np.random.default_rng(0).standard_normal((3, 16000)).astype(np.float32))
    assert expected in str(error.value) and str(error.value).startswith("good:") and "Fix:" in str(error.value)


def test_out_of_memory_on_a_batch_is_retried_smaller():
    def embed(audio):
        if len(audio) > 2:
            raise MemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return audio[:, :4].copy()

    model = function_model(embed, 16000, name="greedy")
    audio = np.random.default_rng(0).standard_normal((7, 100)).astype(np.float32)
    with pytest.warns(UserWarning, match="retrying with batches of 2"):
        out = model.embed(audio, batch_size=8)
    np.testing.assert_array_equal(out, audio[:, :4])


def test_a_module_that_fails_midway_keeps_what_it_embedded(tiny, tmp_path, monkeypatch):
    _, corpus, features, _ = tiny
    path = write_module(tmp_path, name="flaky")
    tracks = np.repeat(corpus.split_indices("train")[:10], 2)
    starts = np.tile([0, 10], 10)
    monkeypatch.setenv("PLUGIN_FAIL_AFTER", "2")
    embedder = AudioExcerptEmbedder(load_hear_module(path), corpus, features, batch_size=4, save_every=4)
    with pytest.raises(PluginError, match="the module broke on purpose"):
        embedder.excerpts(features, tracks, starts)
    monkeypatch.delenv("PLUGIN_FAIL_AFTER")
    again = AudioExcerptEmbedder(load_hear_module(path), corpus, features, batch_size=4, save_every=4)
    assert len(again.cache) == 8  # two saved chunks of four excerpts
    embeddings, _ = again.excerpts(features, tracks, starts)
    assert again.embedded_excerpts == 12 and embeddings.shape == (20, 8)


# ------------------------------------------------------------------------------------------------ the cache
def test_the_embedding_cache_serves_a_second_scoring_and_never_a_changed_module(tiny, tmp_path):
    _, corpus, features, sets = tiny
    path = write_module(tmp_path, name="cached")
    first = AudioExcerptEmbedder(load_hear_module(path), corpus, features)
    scored = score_embedder(first, corpus, features, sets, subspaces=False)
    assert first.embedded_excerpts > 0 and first.cache.path.exists()
    second = AudioExcerptEmbedder(load_hear_module(path), corpus, features)
    again = score_embedder(second, corpus, features, sets, subspaces=False)
    assert second.embedded_excerpts == 0
    assert again.record["recall_at_k"] == scored.record["recall_at_k"]
    path.write_text(path.read_text() + "\n# a changed module\n")
    changed = AudioExcerptEmbedder(load_hear_module(path), corpus, features)
    assert changed.cache.path != first.cache.path and len(changed.cache) == 0
    first.cache.path.write_bytes(b"not an npz")
    with pytest.warns(UserWarning, match="is not used"):
        damaged = AudioExcerptEmbedder(load_hear_module(write_module(tmp_path, name="cached")), corpus, features)
    assert len(damaged.cache) == 0


def test_excerpt_audio_is_what_lies_under_the_excerpts_log_mel_frames(tiny):
    _, corpus, features, _ = tiny
    model = function_model(lambda audio: audio[:, :2].copy(), 44100, name="resampled")
    embedder = AudioExcerptEmbedder(model, corpus, features, cache=False)
    track, start = int(corpus.split_indices("test")[0]), 10
    audio = embedder.excerpt_audio(features, [track], [start])
    assert audio.shape == (1, 3 * 44100)
    settings = features.settings
    offset = features.window_starts[track] + start * settings.hop_length / settings.sample_rate
    expected = corpus.audio(track, sample_rate=44100, max_seconds=3.0, offset=offset)
    np.testing.assert_allclose(audio[0, :len(expected)], expected, atol=1e-6)


# --------------------------------------------------------------------------------------- learned sub-spaces
def test_learned_subspaces_hold_their_category_and_stop_by_validation(tiny):
    _, corpus, features, sets = tiny
    model = load_hear_module("mdrbench.hear_modules.random_projection")
    scored = score_embedder(AudioExcerptEmbedder(model, corpus, features), corpus, features, sets, seed=0)
    record = scored.record
    learned = record["learned_subspaces"]
    assert learned["width"] == 64 and learned["stopped_by"] in ("schedule", "cap")
    assert set(record["triplets"]["subspace"]) >= {"genre", "mood", "instrument", "era"}
    assert set(record["category_recall_at_k"]["subspace"]) == {"genre", "mood", "instrument", "era"}
    assert set(record["disentanglement"]) == {"genre", "mood", "instrument", "era", "complete"}
    assert "subspace" in scored.evidence.triplet_correct
    # the best epoch's validation accuracy is the highest of the fit
    history = learned["history"]["valid_accuracy"]
    assert history[learned["best_epoch"]] == max(history)


def test_the_projection_learns_a_planted_category_structure():
    rng = np.random.default_rng(0)
    n, categories = 400, np.array(["genre"] * 3 + ["mood"] * 3 + ["instrument"] * 3 + ["era"] * 3)
    labels = np.zeros((n, 12), dtype=np.uint8)
    for block in range(4):
        labels[np.arange(n), block * 3 + rng.integers(0, 3, n)] = 1
    centres = rng.standard_normal((12, 32))
    embeddings = labels @ centres + 0.5 * rng.standard_normal((n, 32))
    projection = fit_subspace_projection(embeddings[:300], labels[:300], categories, embeddings[300:],
                                         labels[300:], width=8, seed=0)
    assert projection.history["valid_accuracy"][projection.best_epoch] > 0.9
    assert projection.history["valid_accuracy"][0] < projection.history["valid_accuracy"][projection.best_epoch]


# ------------------------------------------------------------------------------------- exported mdrbench run
def hear_validator_checks(module_path: Path, model_file: str = "") -> None:
    """The checks of hear-validator (hearbenchmark/hear-validator), without TensorFlow, which it imports at
    its top: attributes, scene embeddings of 4 x 2.74 s of noise, timestamp embeddings of 1.07, 1.98, 4.0 s."""
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location(module_path.stem, module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.load_model(model_file)
    assert isinstance(model, torch.nn.Module)
    assert model.sample_rate in HEAR_SAMPLE_RATES
    assert isinstance(model.scene_embedding_size, int) and isinstance(model.timestamp_embedding_size, int)
    audio = torch.rand((4, int(2.74 * model.sample_rate))) * 2 - 1
    scene = module.get_scene_embeddings(audio, model)
    assert scene.dtype == torch.float32 and scene.shape == (4, model.scene_embedding_size)
    for length in (1.07, 1.98, 4.0):
        audio = torch.rand((2, int(length * model.sample_rate))) * 2 - 1
        embeddings, timestamps = module.get_timestamp_embeddings(audio, model)
        assert embeddings.dtype == torch.float32 and embeddings.ndim == 3 and timestamps.ndim == 2
        assert embeddings.shape[0] == 2 and embeddings.shape[:2] == timestamps.shape
        assert embeddings.shape[2] == model.timestamp_embedding_size
        stamps = timestamps.numpy()
        if stamps.shape[1] > 1:
            gaps = np.diff(stamps)
            assert np.max(np.abs(gaps - gaps.mean())) <= 1  # regular
        assert stamps.max() <= 1000 * length


@pytest.fixture(scope="module")
def exported(tiny):
    from test_search import write_run

    import mdrbench
    from mdrbench.export import export_hear

    folder, corpus, features, sets = tiny
    write_run(folder / "run", "triplet-norm-full", corpus)
    native = evaluate(ModelEmbedder(mdrbench.load_model(folder / "run" / "model.keras")), corpus, features, sets,
                      probes=False)
    return export_hear(folder / "run", folder / "hear"), native


def test_an_exported_run_scored_through_the_plugin_gives_its_own_numbers_back(tiny, exported):
    _, corpus, features, sets = tiny
    path, native = exported
    model = load_hear_module(path)
    assert model.sample_rate == 16000 and model.embedding_size == 256
    scored = score_embedder(AudioExcerptEmbedder(model, corpus, features), corpus, features, sets, subspaces=False)
    # The module hears audio, the native path reads the cached log-mels: the STFT's edge frames and float16
    # storage differ slightly, so the numbers agree closely, not bit for bit.
    for k, value in native.record["recall_at_k"].items():
        assert abs(scored.record["recall_at_k"][k] - value) <= 0.02
    assert abs(scored.record["auc_prototype"]["roc_auc"] - native.record["auc"]["roc_auc"]) <= 0.01
    assert abs(scored.record["triplets"]["complete"]["overall"] - native.record["triplets"]["complete"]["overall"]) \
        <= 0.02


@pytest.mark.parametrize("module", ["exported", "mdrbench.hear_modules.random_projection",
                                    "mdrbench.hear_modules.mel_statistics"])
def test_the_shipped_and_exported_modules_pass_the_hear_validators_checks(exported, module):
    import importlib

    path = exported[0] if module == "exported" else Path(importlib.import_module(module).__file__)
    hear_validator_checks(path)


def test_the_exported_module_imports_no_tensorflow(exported):
    path = exported[0]
    code = (f"import sys, importlib.util; spec = importlib.util.spec_from_file_location('m', {str(path)!r}); "
            f"m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); m.load_model(); "
            f"print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras', "
            f"'mdrbench', 'torch'))))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    imported = {name.split(".")[0] for name in json.loads(out.stdout.strip().splitlines()[-1])}
    assert imported == {"keras", "mdrbench", "torch"}


# --------------------------------------------------------------------------------------- third-party module
def test_hearbaseline_naive_is_scored_as_any_module(tiny, tmp_path, monkeypatch):
    """hearbaseline (HEAR 2021's baseline package, installed with --no-deps: its metadata pins numpy 1.19 and
    TensorFlow). Its naive module calls librosa.filters.mel(sr, ...) positionally, which librosa 0.10 removed:
    mdrbench names that failure, and with the argument passed by keyword the module scores."""
    if os.environ.get("CI"):
        import hearbaseline.naive  # noqa: F401  (CI installs it: a missing package fails here)
    naive = pytest.importorskip("hearbaseline.naive")
    import librosa

    _, corpus, features, sets = tiny
    positional = True
    try:
        librosa.filters.mel(44100, n_fft=4096, n_mels=8)
    except TypeError:
        positional = False
        with pytest.raises(PluginError, match="load_model raised TypeError"):
            load_hear_module("hearbaseline.naive")
        keyword_mel = librosa.filters.mel
        monkeypatch.setattr(naive.librosa.filters, "mel", lambda sr, **kw: keyword_mel(sr=sr, **kw))
    model = load_hear_module("hearbaseline.naive")
    assert model.sample_rate == 44100 and model.embedding_size == 4096 and model.info["module"] == "hearbaseline.naive"
    records = score_model(model, corpus, features, sets, [0], tmp_path / "results", progress=False, verbose=0)
    record = records[0]
    assert record["external"]["heard_up_to_hz"] == corpus.sample_rate / 2  # a 16 kHz corpus: nothing above 8 kHz
    assert 0 <= record["recall_at_k"]["1"] <= 1 and 0.4 < record["auc"]["roc_auc"] <= 1
    assert positional or model.identity is not None


# ------------------------------------------------------------------------------------------------- the CLI
def test_stored_scores_are_kept_for_the_same_module_and_redone_for_a_changed_one(tiny, tmp_path, capsys):
    _, corpus, features, sets = tiny
    path = write_module(tmp_path, name="edited")
    out = tmp_path / "results"
    first = score_model(load_hear_module(path), corpus, features, sets, [0], out, subspaces=False, progress=False)
    kept = score_model(load_hear_module(path), corpus, features, sets, [0], out, subspaces=False, progress=False)
    assert "scored earlier, kept" in capsys.readouterr().out and kept[0] == first[0]
    path.write_text(path.read_text() + "\n# an edit under the same name\n")
    redone = score_model(load_hear_module(path), corpus, features, sets, [0], out, subspaces=False, progress=False)
    assert "scoring again" in capsys.readouterr().out
    assert redone[0]["external"]["identity"] != first[0]["external"]["identity"]
    assert json.loads((out / "external" / "edited" / "seed0" / "result.json").read_text())["external"][
        "identity"] == redone[0]["external"]["identity"]


def run_cli(*args, home):
    env = {**os.environ, "MDRBENCH_HOME": str(home)}
    env.pop("MDRBENCH_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "mdrbench.cli", *map(str, args)], capture_output=True, text=True,
                          env=env)


def test_mdrbench_score_writes_an_external_row_into_the_report(tiny, tmp_path):
    folder, _, _, _ = tiny
    out = tmp_path / "results"
    done = run_cli("score", "--hear-module", "mdrbench.hear_modules.mel_statistics", "--corpus", folder / "corpus",
                   "--size", "ci", "--seeds", "2", "--out", out, home=folder / "home")
    assert done.returncode == 0, done.stderr
    assert "mel_statistics" in done.stdout
    report = (out / "report.md").read_text()
    assert "## External models" in report and "mel_statistics" in report
    result = json.loads((out / "external" / "mel_statistics" / "seed1" / "result.json").read_text())
    assert result["kind"] == "external" and result["external"]["embedding_size"] == 128
    from mdrbench.report import collect_results, external_table

    table = external_table(collect_results(out))
    assert table.loc["mel_statistics", "seeds"] == 2 and table.loc["mel_statistics", "D"] == 128


@pytest.mark.parametrize("module", ["mdrbench.hear_modules.mel_statistics", "mdrbench.hear_modules.random_projection",
                                    "exported reference run"])
def test_mdrbench_score_at_ci_scores_the_three_shipped_modules(module, tmp_path):
    """The issue's "runs in CI": the real ci corpus (not the tiny one), every task including the learned
    sub-spaces, one seed. The exported module is the reference bundle's triplet-norm-dis seed 0 (trained at
    default: the same front-end, so it embeds the ci corpus as it would its own)."""
    from mdrbench.reference import reference_folder

    if module == "exported reference run":
        done = run_cli("export-hear", reference_folder("default") / "runs" / "triplet-norm-dis" / "seed0", "--out",
                       tmp_path / "hear", home=AMBIENT_HOME)
        assert done.returncode == 0, done.stderr
        module = str(next((tmp_path / "hear").glob("*.py")))
    out = tmp_path / "results"
    done = run_cli("score", "--hear-module", module, "--size", "ci", "--seeds", "1", "--out", out, home=AMBIENT_HOME)
    assert done.returncode == 0, done.stderr
    (result_path,) = (out / "external").glob("*/seed0/result.json")
    result = json.loads(result_path.read_text())
    assert result["kind"] == "external" and result["external"]["corpus_sample_rate"] == 16000
    for space in ("complete", "subspace"):
        values = [result["triplets"][space][notion] for notion in ("genre", "mood", "instrument", "era", "overall")]
        assert all(0.0 <= value <= 1.0 for value in values), (space, values)
    assert (result_path.parent / "test_subspace_embeddings.npy").exists()
    assert result_path.parent.parent.name in (out / "report.md").read_text()


def test_mdrbench_score_with_a_bad_module_is_one_line_and_exit_2(tiny, tmp_path):
    folder, _, _, _ = tiny
    done = run_cli("score", "--hear-module", tmp_path / "nowhere.py", "--corpus", folder / "corpus", "--size", "ci",
                   home=folder / "home")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no such file" in done.stderr
    path = write_module(tmp_path, tail="embeddings = embeddings.double()")
    done = run_cli("score", "--hear-module", path, "--corpus", folder / "corpus", "--size", "ci", "--out",
                   tmp_path / "r", home=folder / "home")
    assert done.returncode == 2 and "float64" in done.stderr and "Traceback" not in done.stderr


def test_export_hear_cli_writes_a_module_and_refuses_a_folder_without_a_model(exported, tmp_path):
    path, _ = exported
    done = run_cli("export-hear", path.parent.parent / "run", "--out", tmp_path / "hear", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "hear" / path.name).exists() and (tmp_path / "hear" / path.with_suffix(".keras").name).exists()
    done = run_cli("export-hear", tmp_path, "--out", tmp_path / "x", home=tmp_path)
    assert done.returncode == 2 and "model.keras not found" in done.stderr


def test_a_function_is_a_model_too(tiny):
    _, corpus, features, sets = tiny

    def loudness(audio):
        return np.stack([np.sqrt((audio[:, i::4] ** 2).mean(axis=1)) for i in range(4)], axis=1).astype(np.float32)

    model = function_model(loudness, 22050)
    assert model.identity is not None  # its source is known: cached
    scored = score_embedder(AudioExcerptEmbedder(model, corpus, features), corpus, features, sets, subspaces=False)
    assert scored.test_embeddings.shape[1] == 4
    assert function_model(lambda a: a, 16000).identity is None  # a lambda is never cached
    with pytest.raises(PluginError, match="positive whole number"):
        function_model(loudness, 0)
