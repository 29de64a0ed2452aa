"""Tests of mdrbench.views: figure shapes, colours, highlight styling, the headless explorer, saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.callbacks import Points
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

import mdrbench
from mdrbench import views

CATEGORY_SLICES = {"genre": slice(0, 4), "mood": slice(4, 8), "instrument": slice(8, 12), "era": slice(12, 16)}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """t-SNE's OpenMP threads thrash on a shared 2-core CI machine (seconds instead of 0.1 s): use one."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def embedded():
    """40 points in 16 dims whose genre lives only in dims 0:4 and instrument only in dims 8:12."""
    rng = np.random.default_rng(0)
    n_points = 40
    genres = np.array(["rock", "jazz", "pop", "folk"])[np.arange(n_points) % 4]
    instruments = np.array(["piano", "guitar"])[(np.arange(n_points) // 4) % 2]
    embeddings = rng.normal(scale=0.1, size=(n_points, 16))
    embeddings[:, 0] += 5.0 * (np.arange(n_points) % 4)
    embeddings[:, 8] += 5.0 * ((np.arange(n_points) // 4) % 2)
    labels = {"genre": genres, "instrument": instruments}
    tags = [[genre, instrument, "sad" if i % 3 == 0 else "happy"]
            for i, (genre, instrument) in enumerate(zip(genres, instruments, strict=True))]
    return embeddings, labels, tags


def _all_x(figure) -> np.ndarray:
    return np.concatenate([np.asarray(trace.x, dtype=float) for trace in figure.data])


# ------------------------------------------------------------------------------------------ projection, scatter


def test_project_pca_matches_sklearn_and_is_deterministic(embedded):
    embeddings, _, _ = embedded
    projected = views.project(embeddings)
    assert projected.shape == (40, 2)
    np.testing.assert_allclose(projected, PCA(n_components=2).fit_transform(embeddings), atol=1e-9)
    np.testing.assert_array_equal(projected, views.project(embeddings))


def test_project_pads_low_dimensional_input_and_rejects_unknown_method(embedded):
    embeddings, _, _ = embedded
    projected = views.project(embeddings[:, :1], dims=2)
    assert projected.shape == (40, 2) and np.all(projected[:, 1] == 0)
    with pytest.raises(ValueError, match="pca"):
        views.project(embeddings, method="umap")
    with pytest.raises(ValueError, match="n_points, n_dims"):
        views.project(embeddings[0])


def test_project_tsne_shape_and_seed(embedded):
    embeddings, _, _ = embedded
    first = views.project(embeddings[:20], method="tsne", seed=1)
    assert first.shape == (20, 2)
    np.testing.assert_allclose(first, views.project(embeddings[:20], method="tsne", seed=1))


def test_embedding_scatter_one_trace_per_label_with_stable_colours(embedded):
    embeddings, labels, _ = embedded
    figure = views.embedding_scatter(embeddings, labels["genre"], title="t")
    assert isinstance(figure, go.Figure)
    assert [trace.name for trace in figure.data] == ["folk", "jazz", "pop", "rock"]
    assert sum(len(trace.x) for trace in figure.data) == 40
    colours = views.label_colors(labels["genre"])
    assert [trace.marker.color for trace in figure.data] == [colours[name] for name in ["folk", "jazz", "pop", "rock"]]
    # The same label set coloured again (even shuffled) keeps its colours.
    assert views.label_colors(labels["genre"][::-1]) == colours
    # customdata maps each drawn point back to its row.
    for trace in figure.data:
        assert set(labels["genre"][np.asarray(trace.customdata)]) == {trace.name}


def test_embedding_scatter_subspace_uses_only_its_dimensions(embedded):
    embeddings, labels, _ = embedded
    figure = views.embedding_scatter(embeddings, labels["genre"], subspace=slice(8, 12))
    rock = next(trace for trace in figure.data if trace.name == "rock")
    expected = views.project(embeddings[:, 8:12])[np.asarray(rock.customdata)]
    np.testing.assert_allclose(np.asarray(rock.x), expected[:, 0])


def test_highlight_enlarges_chosen_points_and_fades_the_rest(embedded):
    embeddings, labels, _ = embedded
    highlight = labels["instrument"] == "piano"
    figure = views.embedding_scatter(embeddings, labels["genre"], highlight=highlight)
    for trace in figure.data:
        chosen = highlight[np.asarray(trace.customdata)]
        sizes, opacities = np.asarray(trace.marker.size), np.asarray(trace.marker.opacity)
        assert np.all(sizes[chosen] > sizes[~chosen].max())
        assert np.all(opacities[chosen] == 1.0) and np.all(opacities[~chosen] < 0.5)
    plain = views.embedding_scatter(embeddings, labels["genre"])
    assert np.isscalar(plain.data[0].marker.size)


def test_mismatched_lengths_give_clear_errors(embedded):
    embeddings, labels, _ = embedded
    with pytest.raises(ValueError, match="one entry per point"):
        views.embedding_scatter(embeddings, labels["genre"][:-1])
    with pytest.raises(ValueError, match="highlight"):
        views.embedding_scatter(embeddings, labels["genre"], highlight=np.ones(39, bool))
    with pytest.raises(ValueError, match="boolean"):
        views.embedding_scatter(embeddings, labels["genre"], highlight=np.ones(40))
    with pytest.raises(ValueError, match="hover"):
        views.embedding_scatter(embeddings, labels["genre"], hover=["a"])
    with pytest.raises(ValueError, match="NaN"):
        views.embedding_scatter(np.full((3, 2), np.nan), ["a", "b", "c"])


def test_subspace_grid_has_a_panel_per_space_and_one_legend(embedded):
    embeddings, labels, _ = embedded
    figure = views.subspace_grid(embeddings, labels, CATEGORY_SLICES, color_by="genre",
                                 highlight=labels["instrument"] == "piano")
    assert len(figure.data) == 5 * 4
    assert {trace.xaxis for trace in figure.data} == {"x", "x2", "x3", "x4", "x5"}
    assert [a.text for a in figure.layout.annotations] == [f"{s} space" for s in ["complete", *CATEGORY_SLICES]]
    assert sum(bool(trace.showlegend) for trace in figure.data) == 4
    with pytest.raises(ValueError, match="color_by"):
        views.subspace_grid(embeddings, labels, CATEGORY_SLICES, color_by="era")


# ------------------------------------------------------------------------------------------------- explorer


def test_animated_projection_fixed_basis_frames_and_controls(embedded):
    embeddings, labels, _ = embedded
    rng = np.random.default_rng(1)
    start = rng.normal(size=embeddings.shape)
    snapshots = np.stack([start + (embeddings - start) * t for t in (0.0, 0.5, 1.0)])  # a space forming
    names = ["epoch 0", "epoch 1", "epoch 2"]
    figure = views.animated_projection(snapshots, labels["genre"], frame_names=names, title="t")
    assert [frame.name for frame in figure.frames] == names
    assert all([trace.name for trace in frame.data] == ["folk", "jazz", "pop", "rock"] for frame in figure.frames)
    assert [step.label for step in figure.layout.sliders[0].steps] == names
    assert [button.label for button in figure.layout.updatemenus[0].buttons] == ["play", "pause"]
    # one PCA, fitted on the last snapshot: the last frame is that snapshot's own PCA, the first is projected on it
    pca = PCA(n_components=2).fit(snapshots[-1])
    for frame, snapshot in ((figure.frames[-1], snapshots[-1]), (figure.frames[0], snapshots[0])):
        expected = pca.transform(snapshot)
        for trace in frame.data:
            np.testing.assert_allclose(np.c_[trace.x, trace.y], expected[np.asarray(trace.customdata)], atol=1e-9)
    # fixed axis ranges that cover every frame
    every_x = np.concatenate([np.asarray(trace.x, dtype=float) for frame in figure.frames for trace in frame.data])
    low, high = figure.layout.xaxis.range
    assert figure.layout.xaxis.autorange is False and low < every_x.min() and high > every_x.max()
    first_basis = views.animated_projection(snapshots, labels["genre"], basis=0)
    np.testing.assert_allclose(np.c_[first_basis.frames[0].data[0].x, first_basis.frames[0].data[0].y],
                               PCA(n_components=2).fit_transform(snapshots[0])[labels["genre"] == "folk"], atol=1e-9)
    assert [frame.name for frame in first_basis.frames] == ["0", "1", "2"]


def test_animated_projection_rejects_bad_input(embedded):
    embeddings, labels, _ = embedded
    with pytest.raises(ValueError, match="n_frames, n_points, n_dims"):
        views.animated_projection(embeddings, labels["genre"])
    with pytest.raises(ValueError, match="one per snapshot"):
        views.animated_projection(embeddings[None], labels["genre"], frame_names=["a", "b"])
    with pytest.raises(ValueError, match="basis 3"):
        views.animated_projection(embeddings[None], labels["genre"], basis=3)
    with pytest.raises(ValueError, match="one entry per point"):
        views.animated_projection(embeddings[None], labels["genre"][:5])


def test_explorer_constructs_headless_and_updates_the_figure(embedded):
    embeddings, labels, tags = embedded
    clips = {}

    def audio_fn(index):
        clips[index] = True
        return np.sin(np.arange(800) * 0.1 * (index + 1)), 8000

    explorer = views.SubspaceExplorer(embeddings, labels, CATEGORY_SLICES, tags_per_point=tags, audio_fn=audio_fn)
    assert isinstance(explorer.figure, go.FigureWidget)
    assert explorer.figure in explorer.widget.children
    assert [trace.name for trace in explorer.figure.data] == ["folk", "jazz", "pop", "rock"]
    complete_x = _all_x(explorer.figure)

    explorer.set_subspace("instrument")
    assert explorer._dropdowns["subspace"].value == "instrument"
    assert not np.allclose(np.sort(_all_x(explorer.figure)), np.sort(complete_x))
    assert "instrument space" in explorer.figure.layout.title.text

    explorer.set_color("instrument")
    assert [trace.name for trace in explorer.figure.data] == ["guitar", "piano"]
    assert explorer.figure.layout.legend.title.text == "instrument"

    # Changing the dropdown (as a user would) runs the same update.
    explorer._dropdowns["color_by"].value = "genre"
    assert explorer.color_by == "genre" and len(explorer.figure.data) == 4

    explorer.set_highlight_tag("sad")
    sizes = np.concatenate([np.atleast_1d(trace.marker.size) for trace in explorer.figure.data])
    assert set(sizes.tolist()) == {10, 5} and (sizes == 10).sum() == sum("sad" in t for t in tags)
    explorer.set_highlight_tag(None)
    assert np.isscalar(explorer.figure.data[0].marker.size)

    explorer.select(3)
    assert explorer.selected_index == 3 and clips == {3: True}
    assert len(explorer.output.outputs) == 2
    assert "point 3" in explorer.output.outputs[0]["data"]["text/html"]
    assert "<audio" in explorer.output.outputs[1]["data"]["text/html"]

    # A click on a trace maps the trace-local point back to its global index.
    trace = explorer.figure.data[2]
    explorer._on_click(trace, Points(point_inds=[1], xs=[0], ys=[0], trace_name=trace.name, trace_index=2), None)
    assert explorer.selected_index == int(trace.customdata[1])

    with pytest.raises(ValueError, match="sub-space"):
        explorer.set_subspace("tempo")
    with pytest.raises(ValueError, match="category"):
        explorer.set_color("tempo")
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()


def test_explorer_method_switch_is_cached_and_rejects_bad_inputs(embedded):
    embeddings, labels, tags = embedded
    explorer = views.SubspaceExplorer(embeddings[:20], {"genre": labels["genre"][:20]}, CATEGORY_SLICES)
    explorer.set_method("tsne")
    first = explorer.projection()
    explorer.set_method("pca")
    explorer.set_method("tsne")
    assert explorer.projection() is first
    explorer.select(0)
    assert len(explorer.output.outputs) == 1  # no audio_fn: text only
    with pytest.raises(ValueError, match="tags_per_point"):
        views.SubspaceExplorer(embeddings, labels, CATEGORY_SLICES, tags_per_point=tags[:-1])
    with pytest.raises(ValueError, match="selects no dimension"):
        views.SubspaceExplorer(embeddings, labels, {"genre": slice(100, 200)})


# ---------------------------------------------------------------------------------------------------- audio


def test_mel_figure_time_axis_in_seconds_and_grid():
    rng = np.random.default_rng(0)
    mel = rng.normal(size=(16, 50))
    figure = views.mel_figure(mel, sample_rate=22050, hop_length=512)
    assert len(figure.data) == 1
    np.testing.assert_allclose(figure.data[0].x[-1], 49 * 512 / 22050)
    assert figure.layout.xaxis.title.text == "time (s)"
    names = ["rock", "jazz", "pop", "folk", "blues"]
    mels = {name: rng.normal(size=(16, 30)) + offset for offset, name in enumerate(names)}
    grid = views.mel_grid(mels, sample_rate=22050, hop_length=512, columns=3)
    assert len(grid.data) == 5 and len(grid.layout.annotations) == 5
    assert len({trace.zmax for trace in grid.data}) == 1  # one shared colour scale
    assert sum(bool(trace.showscale) for trace in grid.data) == 1
    with pytest.raises(ValueError, match="n_mels, n_frames"):
        views.mel_figure(mel[None], 22050, 512)


def test_waveform_spectrum_shows_bandwidth():
    sample_rate = 16000
    time = np.arange(sample_rate) / sample_rate
    low = np.sin(2 * np.pi * 440 * time)
    figure = views.waveform_spectrum_figure({"low": low, "high": np.sin(2 * np.pi * 5000 * time)}, sample_rate)
    assert len(figure.data) == 2
    frequencies = np.asarray(figure.data[0].x)
    assert abs(frequencies[np.argmax(figure.data[0].y)] - 440) < sample_rate / 2048
    assert abs(frequencies[np.argmax(figure.data[1].y)] - 5000) < sample_rate / 2048
    assert np.max(figure.data[0].y) == pytest.approx(0.0)
    assert len(views.waveform_spectrum_figure(low, sample_rate).data) == 1
    with pytest.raises(ValueError, match="audio.T"):
        views.waveform_spectrum_figure(np.zeros((1000, 2)), sample_rate)


def test_audio_player_headless_and_silence():
    player = views.audio_player(np.sin(np.arange(1000) * 0.05), 8000)
    assert "<audio" in player._repr_html_()
    assert "<audio" in views.audio_player(np.zeros(1000), 8000)._repr_html_()
    with pytest.raises(ValueError, match="sample_rate"):
        views.audio_player(np.zeros(10), 0)


# ----------------------------------------------------------------------------------------- tables and results


def test_tag_frequency_figure_sorted_by_count_with_clean_overlay():
    counts = pd.DataFrame({"tag": ["rock", "sad", "piano", "60s", "jazz"],
                           "category": ["genre", "mood", "instrument", "era", "genre"],
                           "count": [50, 10, 30, 5, 20], "clean_count": [80, 30, 35, 9, 20]})
    figure = views.tag_frequency_figure(counts)
    assert len(figure.data) == 1 + 4
    assert list(figure.layout.xaxis.categoryarray) == ["rock", "piano", "jazz", "sad", "60s"]
    genre = next(trace for trace in figure.data if trace.name == "genre")
    assert genre.marker.color == views.CATEGORY_COLORS["genre"]
    assert list(figure.data[0].customdata[:, 0]) == [30, 5, 0, 20, 4]  # missing positives, in sorted order
    assert len(views.tag_frequency_figure(counts.drop(columns="clean_count")).data) == 4
    with pytest.raises(ValueError, match="category"):
        views.tag_frequency_figure(counts.drop(columns="category"))


def test_recall_at_k_figure_ours_solid_paper_dashed():
    results = pd.DataFrame({"R@1": [0.3, 0.4, 0.318], "R@8": [0.7, 0.8, 0.73], "R@2": [0.45, 0.55, 0.452],
                            "source": ["ours", "ours", "paper"]}, index=["triplet", "proxy", "triplet"])
    figure = views.recall_at_k_figure(results)
    assert len(figure.data) == 3
    assert list(figure.data[0].x) == [1, 2, 8] and list(figure.data[0].y) == [0.3, 0.45, 0.7]
    assert [trace.line.dash for trace in figure.data] == ["solid", "solid", "dash"]
    assert figure.data[0].line.color == figure.data[2].line.color != figure.data[1].line.color
    paper = pd.DataFrame({"model": ["a", "b"], "r_at_1": [31.8, 36.5], "r_at_2": [45.2, 50.5]})
    assert len(views.recall_at_k_figure(paper).data) == 2
    with pytest.raises(ValueError, match="R@1"):
        views.recall_at_k_figure(pd.DataFrame({"auc": [0.8]}))


def test_triplet_accuracy_figure_panels_per_space():
    rows = [("complete", "triplet", 0.77, 0.72, 0.65, 0.70, 0.71), ("complete", "proxy", 0.77, 0.74, 0.64, 0.69, 0.71),
            ("subspace", "triplet", 0.79, 0.78, 0.80, 0.80, 0.79)]
    table = pd.DataFrame(rows, columns=["space", "model", "genre", "mood", "instrument", "era", "overall"])
    figure = views.triplet_accuracy_figure(table)
    assert len(figure.data) == 3
    assert [trace.xaxis for trace in figure.data] == ["x", "x", "x2"]
    assert list(figure.data[0].x) == ["genre", "mood", "instrument", "era", "overall"]
    assert [bool(trace.showlegend) for trace in figure.data] == [True, True, False]
    assert figure.layout.shapes[0].y0 == 0.5
    indexed = views.triplet_accuracy_figure(table.set_index(["space", "model"]) * 100)
    assert indexed.layout.shapes[0].y0 == 50.0
    with pytest.raises(ValueError, match="space, model"):
        views.triplet_accuracy_figure(table.drop(columns="space").set_index("model"))


def test_training_time_figure_cumulative_time():
    histories = {"proxy": {"epoch_seconds": [2.0, 2.0, 3.0], "val_loss": [1.0, 0.5, 0.4]},
                 "triplet": {"epoch_seconds": [4.0, 4.0], "val_loss": [1.0, 0.8]}}
    figure = views.training_time_figure(histories)
    assert len(figure.data) == 2
    assert list(figure.data[0].x) == [2.0, 4.0, 7.0]
    with pytest.raises(ValueError, match="one value per epoch"):
        views.training_time_figure({"bad": {"epoch_seconds": [1.0], "val_loss": [1.0, 2.0]}})
    with pytest.raises(ValueError, match="val_loss"):
        views.training_time_figure({"bad": {"epoch_seconds": [1.0]}})


def test_metric_curves_figure_panel_per_metric_line_per_group():
    curves = pd.DataFrame({"model": ["raw"] * 3 + ["norm"] * 2, "epoch": [2, 0, 1, 0, 1],
                           "R@1": [0.3, 0.1, 0.2, 0.1, 0.4], "mean cosine": [0.5, 0.9, 0.7, 0.9, 0.6],
                           "note": ["a"] * 5})
    norms = curves.assign(norm=[3.0, 1.0, 2.0, 1.0, 1.0])
    figure = views.metric_curves_figure(curves, title="t")
    assert [annotation.text for annotation in figure.layout.annotations] == ["R@1", "mean cosine"]
    assert [(trace.name, bool(trace.showlegend)) for trace in figure.data] == [
        ("raw", True), ("norm", True), ("raw", False), ("norm", False)]
    assert list(figure.data[0].x) == [0, 1, 2] and list(figure.data[0].y) == [0.1, 0.2, 0.3]  # sorted by epoch
    assert figure.data[0].line.color == figure.data[2].line.color != figure.data[1].line.color
    grid = views.metric_curves_figure(norms, columns=["mean cosine", "R@1", "norm"], panels_per_row=2)
    assert len(grid.data) == 6 and grid.data[4].xaxis == "x3"  # a third panel on a second row
    with pytest.raises(ValueError, match="lacks column"):
        views.metric_curves_figure(curves, columns=["R@8"])
    with pytest.raises(ValueError, match="lacks column"):
        views.metric_curves_figure(curves, by="config")


def test_disentanglement_heatmap_cells():
    matrix = pd.DataFrame(np.eye(4) * 0.3 + 0.5, index=list(CATEGORY_SLICES), columns=list(CATEGORY_SLICES))
    figure = views.disentanglement_heatmap(matrix)
    assert len(figure.data) == 1
    np.testing.assert_allclose(np.asarray(figure.data[0].z), matrix.to_numpy())
    assert list(figure.data[0].y) == list(CATEGORY_SLICES)


def test_neighbors_table_shared_tags_and_errors():
    track_ids = ["t0", "t1", "t2", "t3"]
    tags = [["rock", "sad"], ["rock"], ["jazz", "sad"], ["pop"]]
    table = views.neighbors_table(0, [2, 1, 3], track_ids, tags, [0.9, 0.8, 0.1])
    assert list(table.columns) == ["rank", "index", "track_id", "similarity", "tags", "shared_tags"]
    assert list(table["track_id"]) == ["t2", "t1", "t3"]
    assert list(table["shared_tags"]) == ["sad", "rock", ""]
    with pytest.raises(ValueError, match=r"shape \(k,\)"):
        views.neighbors_table(0, [1, 2], track_ids, tags, [0.5])
    with pytest.raises(ValueError, match="out of range"):
        views.neighbors_table(0, [7], track_ids, tags, [0.5])


# --------------------------------------------------------------------------------------------------- saving


def test_save_figure_html_and_clear_errors(tmp_path, embedded):
    embeddings, labels, _ = embedded
    figure = views.embedding_scatter(embeddings, labels["genre"])
    path = views.save_figure(figure, tmp_path / "figures" / "scatter.html")
    text = path.read_text()
    assert "cdn.plot.ly" in text and "rock" in text
    with pytest.raises(ValueError, match=".html"):
        views.save_figure(figure, tmp_path / "scatter.txt")


def test_save_figure_png_writes_or_explains(tmp_path):
    figure = views.mel_figure(np.ones((4, 4)), 22050, 512)
    try:
        path = views.save_figure(figure, tmp_path / "mel.png")
    except RuntimeError as error:  # no Chrome here: the message must say what to do
        assert ".html" in str(error) and "kaleido" in str(error)
    else:
        assert path.read_bytes()[:4] == b"\x89PNG"


def test_paper_tables_plot_with_configuration_names():
    """The paper's packaged CSVs plot as they are; their rows take the project's configuration names."""
    data = Path(mdrbench.__file__).parent / "data"
    triplets = pd.read_csv(data / "paper_triplets.csv")
    figure = views.triplet_accuracy_figure(triplets)
    assert len(figure.data) == len(triplets)
    assert [a.text for a in figure.layout.annotations if "space" in a.text] == ["complete space", "subspace"]
    names = [trace.name for trace in figure.data]
    assert names[:3] == ["triplet-norm-full", "triplet-norm-dis", "triplet-track-norm-dis"]
    assert figure.data[1].marker.color == figure.data[names.index("triplet-norm-dis", 2)].marker.color
    results = pd.read_csv(data / "paper_results.csv").assign(source="paper")
    recall = views.recall_at_k_figure(results)
    assert len(recall.data) == len(results) and list(recall.data[0].x) == [1, 2, 4, 8]
    assert "classification-raw-full (paper)" in [trace.name for trace in recall.data]


def test_audio_table_labels_cuts_and_escapes():
    rate = 8000
    tone = np.sin(np.arange(rate * 10) * 0.05)
    table = views.audio_table([("query <a>", tone), ("neighbour 1", np.zeros(rate * 2))], rate, seconds=3.0,
                              title="Neighbours & query")
    page = table.data
    assert page.count("<audio") == 2 and "query &lt;a&gt;" in page and "Neighbours &amp; query" in page
    whole = views.audio_table([("query", tone)], rate, seconds=None).data
    cut = views.audio_table([("query", tone)], rate, seconds=3.0).data
    assert len(cut) < 0.5 * len(whole)  # 3 of 10 seconds embedded
    with pytest.raises(ValueError, match="clips is empty"):
        views.audio_table([], rate)


def test_cosine_heatmaps_show_each_set_ordered_with_group_lines():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(6, 4))
    order = np.array([5, 0, 3, 1, 4, 2])
    groups = np.array(["a", "b", "a", "b", "c", "a"])
    figure = views.cosine_heatmaps({"one": vectors, "two": -vectors}, order=order, groups=groups)
    assert [trace.type for trace in figure.data] == ["heatmap", "heatmap"]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(figure.data[0].z), (unit @ unit.T)[order][:, order], atol=1e-6)
    # groups along the order: a a b b c a -> three changes, each a horizontal and a vertical line, in both panels
    assert len(figure.layout.shapes) == 3 * 2 * 2
    with pytest.raises(ValueError, match="permutation"):
        views.cosine_heatmaps({"one": vectors}, order=[0, 0, 1, 2, 3, 4])


def test_roc_figure_area_is_sklearns_roc_auc():
    from sklearn.metrics import roc_auc_score

    labels = np.array([1, 1, 1, 0, 0, 0, 0], dtype=bool)
    scores = np.array([0.9, 0.7, 0.4, 0.8, 0.4, 0.3, 0.1])
    figure = views.roc_figure(labels, scores, title="toy")
    assert f"{roc_auc_score(labels, scores):.3f}" in figure.data[2].name
    x, y = np.asarray(figure.data[2].x), np.asarray(figure.data[2].y)
    area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))  # ROC points joined by straight lines (ties)
    assert np.isclose(area, roc_auc_score(labels, scores))
    with pytest.raises(ValueError, match="one positive and one negative"):
        views.roc_figure(np.ones(3, dtype=bool), np.arange(3.0))
