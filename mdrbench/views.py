"""Plotly figures and ipywidgets explorers for the notebooks and the benchmark report.

Every figure factory takes numpy arrays or pandas tables and returns a ``plotly.graph_objects.Figure``, so it
renders headless (nbmake, CI, the HTML report). :class:`SubspaceExplorer` is the interactive version: a
``FigureWidget`` scatter with dropdowns and a click-to-listen output area; it constructs without a front-end
and its update logic lives in plain methods (``set_subspace``, ``set_color``, ``select``...) so tests drive it
directly. Where a ``FigureWidget`` cannot render (Google Colab: plotly.py#2202, colab-cdn-widget-manager#51;
or ``MDRBENCH_STATIC_FIGURES=1``, see :func:`mdrbench.colab.static_figures`) it draws a static ``go.Figure``
through an updatable ``IPython.display`` output instead, with the same dropdowns plus a track picker: pick a
track, and the figure marks it and its audio plays below.

Colours are stable: a label value always gets ``palette[rank of the value among the sorted values]`` and
each category (genre, mood, instrument, era) has a fixed colour, so the same genre looks the same in every
figure built from the same label set.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

__all__ = [
    "CATEGORY_COLORS",
    "COMPLETE_SPACE",
    "SubspaceExplorer",
    "TRIPLET_COLUMNS",
    "animated_projection",
    "audio_player",
    "average_spectrum",
    "disentanglement_heatmap",
    "embedding_scatter",
    "interval_figure",
    "label_colors",
    "mel_figure",
    "mel_grid",
    "metric_curves_figure",
    "neighbors_table",
    "project",
    "recall_at_k_figure",
    "save_figure",
    "subspace_grid",
    "tag_frequency_figure",
    "training_time_figure",
    "triplet_accuracy_figure",
    "waveform_spectrum_figure",
]

# Name of the whole embedding in dropdowns and subplot titles (the paper's "complete space").
COMPLETE_SPACE = "complete"

# One fixed colour per tag category, used wherever bars or lines are grouped by category.
CATEGORY_COLORS: dict[str, str] = {
    "genre": "#1f77b4",
    "mood": "#d62728",
    "instrument": "#2ca02c",
    "era": "#9467bd",
}

# Long qualitative palette without repeats: Plotly's 10, then D3's and Dark24's extra hues.
_PALETTE: tuple[str, ...] = tuple(dict.fromkeys(
    [c.lower() for c in qualitative.Plotly + qualitative.D3 + qualitative.Dark24 + qualitative.Light24]))

# Marker styling of the scatter plots: highlighted points stand out, the rest fade into context.
_SIZE_NORMAL, _SIZE_HIGHLIGHT, _SIZE_FADED = 6, 10, 5
_OPACITY_NORMAL, _OPACITY_HIGHLIGHT, _OPACITY_FADED = 0.8, 1.0, 0.15


# --------------------------------------------------------------------------------------------------- helpers


def label_colors(values: Sequence | np.ndarray) -> dict[str, str]:
    """Map every distinct value (as str) to a colour: the i-th sorted value gets the i-th palette colour.

    Passing the full label set (not a subset) keeps colours consistent across figures.
    """
    distinct = sorted({str(v) for v in values})
    return {value: _PALETTE[i % len(_PALETTE)] for i, value in enumerate(distinct)}


def _as_embeddings(embeddings) -> np.ndarray:
    array = np.asarray(embeddings, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"embeddings must have shape (n_points, n_dims), got shape {array.shape}; "
                         f"stack one embedding per row.")
    if array.shape[0] == 0:
        raise ValueError("embeddings is empty; pass at least one point.")
    if not np.all(np.isfinite(array)):
        raise ValueError("embeddings contain NaN or inf; check the model output before plotting.")
    return array


def _as_labels(labels, n_points: int, name: str = "labels") -> np.ndarray:
    array = np.asarray(labels).astype(str)
    if array.ndim != 1 or len(array) != n_points:
        raise ValueError(f"{name} must have one entry per point ({n_points}), got shape {array.shape}.")
    return array


def _as_highlight(highlight, n_points: int) -> np.ndarray | None:
    if highlight is None:
        return None
    array = np.asarray(highlight)
    if array.shape != (n_points,):
        raise ValueError(f"highlight must be a boolean mask of shape ({n_points},), got shape {array.shape}.")
    if array.dtype != bool:
        raise ValueError(f"highlight must be boolean (a mask), got dtype {array.dtype}; use e.g. labels == 'rock'.")
    return array


def _as_hover(hover, n_points: int, name: str = "hover") -> list[str]:
    if hover is None:
        return [f"#{i}" for i in range(n_points)]
    hover = [str(h) for h in hover]
    if len(hover) != n_points:
        raise ValueError(f"{name} must have one string per point ({n_points}), got {len(hover)}.")
    return hover


def _subspace_block(embeddings: np.ndarray, subspace: slice | None) -> np.ndarray:
    if subspace is None:
        return embeddings
    if not isinstance(subspace, slice):
        raise ValueError(f"subspace must be a slice (e.g. slice(0, 64)) or None, got {type(subspace).__name__}.")
    block = embeddings[:, subspace]
    if block.shape[1] == 0:
        raise ValueError(f"subspace {subspace} selects no dimension of a {embeddings.shape[1]}-d embedding.")
    return block


def _scatter_traces(points: np.ndarray, labels: np.ndarray, colors: Mapping[str, str],
                    highlight: np.ndarray | None, hover: list[str]) -> list[go.Scatter]:
    """One trace per label value (so the legend toggles values); ``customdata`` holds the point index."""
    traces = []
    for value in sorted(set(labels.tolist())):
        index = np.flatnonzero(labels == value)
        if highlight is None:
            size, opacity = _SIZE_NORMAL, _OPACITY_NORMAL
        else:
            chosen = highlight[index]
            size = np.where(chosen, _SIZE_HIGHLIGHT, _SIZE_FADED).tolist()
            opacity = np.where(chosen, _OPACITY_HIGHLIGHT, _OPACITY_FADED).tolist()
        traces.append(go.Scatter(
            x=points[index, 0], y=points[index, 1], mode="markers", name=value, legendgroup=value,
            marker={"color": colors[value], "size": size, "opacity": opacity},
            customdata=index, text=[hover[i] for i in index],
            hovertemplate="%{text}<extra>" + html.escape(value) + "</extra>",
        ))
    return traces


# ------------------------------------------------------------------------------------------------ embeddings


def project(embeddings, method: str = "pca", dims: int = 2, seed: int = 0) -> np.ndarray:
    """Project embeddings of shape (n, d) to (n, dims) with PCA (default: fast, deterministic) or t-SNE.

    When there are fewer dimensions or points than ``dims`` the missing output columns are zero, so a
    1-d sub-space or a 2-point set still plots.
    """
    embeddings = _as_embeddings(embeddings)
    if dims < 1:
        raise ValueError(f"dims must be >= 1, got {dims}.")
    n_points, n_dims = embeddings.shape
    n_components = min(dims, n_dims, n_points)
    output = np.zeros((n_points, dims))
    if method == "pca":
        from sklearn.decomposition import PCA

        if n_points > 1:
            output[:, :n_components] = PCA(n_components=n_components, random_state=seed).fit_transform(embeddings)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        if n_points < 4:
            raise ValueError(f"t-SNE needs at least 4 points, got {n_points}; use method='pca'.")
        # Perplexity must stay below the number of points; 30 is sklearn's default for large sets.
        perplexity = float(min(30.0, (n_points - 1) / 3))
        tsne = TSNE(n_components=dims, perplexity=perplexity, init="pca", random_state=seed)
        output = tsne.fit_transform(embeddings)
    else:
        raise ValueError(f"unknown projection method {method!r}; use 'pca' or 'tsne'.")
    return output


def embedding_scatter(embeddings, labels, subspace: slice | None = None, method: str = "pca",
                      highlight=None, hover: list[str] | None = None, title: str | None = None,
                      seed: int = 0) -> go.Figure:
    """2-D projection of an embedding (n, d), or of one sub-space block of it, coloured by ``labels`` (n,).

    ``highlight`` (n,) bool draws those points large and opaque and fades the rest, as in the paper's figure:
    samples sharing e.g. an instrument scatter in the complete space but cluster in the instrument sub-space.
    One trace per label value, in sorted order.
    """
    embeddings = _as_embeddings(embeddings)
    n_points = len(embeddings)
    labels = _as_labels(labels, n_points)
    highlight = _as_highlight(highlight, n_points)
    hover = _as_hover(hover, n_points)
    points = project(_subspace_block(embeddings, subspace), method=method, seed=seed)
    figure = go.Figure(_scatter_traces(points, labels, label_colors(labels), highlight, hover))
    axis = method.upper() if method == "pca" else "t-SNE"
    figure.update_layout(title=title, xaxis_title=f"{axis} 1", yaxis_title=f"{axis} 2",
                         legend_title_text="label", template="plotly_white")
    return figure


def subspace_grid(embeddings, labels_by_category: Mapping[str, Sequence], subspace_slices: Mapping[str, slice],
                  color_by: str, highlight=None, method: str = "pca", title: str | None = None,
                  seed: int = 0) -> go.Figure:
    """1 x (1 + n_subspaces) scatters: the complete space then each sub-space, all coloured by ``color_by``.

    The panel where the colours separate is the sub-space that encodes that factor. Traces: one per label
    value per panel; the legend shows each value once and toggles it in every panel.
    """
    embeddings = _as_embeddings(embeddings)
    n_points = len(embeddings)
    if color_by not in labels_by_category:
        raise ValueError(f"color_by {color_by!r} is not a key of labels_by_category {list(labels_by_category)}.")
    labels = _as_labels(labels_by_category[color_by], n_points, name=f"labels_by_category[{color_by!r}]")
    highlight = _as_highlight(highlight, n_points)
    hover = _as_hover(None, n_points)
    colors = label_colors(labels)
    spaces: dict[str, slice | None] = {COMPLETE_SPACE: None, **subspace_slices}
    figure = make_subplots(rows=1, cols=len(spaces), subplot_titles=[f"{name} space" for name in spaces])
    for column, block in enumerate(spaces.values(), start=1):
        points = project(_subspace_block(embeddings, block), method=method, seed=seed)
        for trace in _scatter_traces(points, labels, colors, highlight, hover):
            trace.showlegend = column == 1
            figure.add_trace(trace, row=1, col=column)
    figure.update_xaxes(showticklabels=False)
    figure.update_yaxes(showticklabels=False)
    figure.update_layout(title=title or f"coloured by {color_by} ({method.upper() if method == 'pca' else 't-SNE'})",
                         legend_title_text=color_by, template="plotly_white",
                         width=max(900, 260 * len(spaces)), height=340)
    return figure


def animated_projection(snapshots, labels, frame_names: Sequence[str] | None = None, basis: int = -1,
                        hover: Sequence[str] | None = None, title: str | None = None,
                        frame_duration_ms: int = 500) -> go.Figure:
    """A 2-D PCA of the same points at successive moments, animated: one Plotly frame per snapshot, a slider and
    a play button.

    ``snapshots`` (n_frames, n_points, d), e.g. :class:`mdrbench.train.EmbeddingSnapshots`'s ``embeddings``. The
    PCA is fitted once, on snapshot ``basis`` (default the last), every snapshot is projected on that basis, and
    the axis ranges cover every frame: what moves between frames is the points, not the projection (a PCA refitted
    per frame could flip or rotate its axes from one frame to the next). Coloured by ``labels`` (n_points,), one
    trace per label value in sorted order, as :func:`embedding_scatter`; ``frame_names`` label the slider (default
    "0", "1", ...).
    """
    from sklearn.decomposition import PCA

    array = np.asarray(snapshots, dtype=np.float64)
    if array.ndim != 3 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"snapshots must have shape (n_frames, n_points, n_dims) with at least one frame and one "
                         f"point, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError("snapshots contain NaN or inf; check the model output before plotting.")
    n_frames, n_points, n_dims = array.shape
    if not -n_frames <= basis < n_frames:
        raise ValueError(f"basis {basis} is not a snapshot index of {n_frames} snapshots.")
    names = [str(i) for i in range(n_frames)] if frame_names is None else [str(name) for name in frame_names]
    if len(names) != n_frames or len(set(names)) != n_frames:
        raise ValueError(f"frame_names must be {n_frames} distinct names (one per snapshot), got {len(names)} "
                         f"({len(set(names))} distinct).")
    labels = _as_labels(labels, n_points)
    hover = _as_hover(hover, n_points)
    n_components = min(2, n_dims, n_points)
    points = np.zeros((n_frames, n_points, 2))
    explained = np.zeros(2)
    if n_points > 1:
        pca = PCA(n_components=n_components).fit(array[basis])
        points[:, :, :n_components] = pca.transform(array.reshape(-1, n_dims)).reshape(n_frames, n_points, -1)
        explained[:n_components] = pca.explained_variance_ratio_
    colors = label_colors(labels)
    frames = [go.Frame(data=_scatter_traces(points[i], labels, colors, None, hover), name=name)
              for i, name in enumerate(names)]
    figure = go.Figure(data=frames[0].data, frames=frames)
    low, high = points.min(axis=(0, 1)), points.max(axis=(0, 1))
    pad = np.where(high > low, 0.05 * (high - low), 1.0)
    step = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate", "transition": {"duration": 0}}
    play = {"frame": {"duration": frame_duration_ms, "redraw": False}, "fromcurrent": True,
            "transition": {"duration": frame_duration_ms // 2}}
    basis_name = names[basis]
    figure.update_layout(
        title=title, template="plotly_white", legend_title_text="label",
        xaxis={"range": [low[0] - pad[0], high[0] + pad[0]], "autorange": False,
               "title": f"PC 1 of snapshot {basis_name} ({explained[0]:.0%} of its variance)"},
        yaxis={"range": [low[1] - pad[1], high[1] + pad[1]], "autorange": False,
               "title": f"PC 2 of snapshot {basis_name} ({explained[1]:.0%})"},
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0.0, "y": -0.12, "xanchor": "left",
                      "yanchor": "top", "pad": {"t": 30, "r": 10}, "showactive": False,
                      "buttons": [{"label": "play", "method": "animate", "args": [None, play]},
                                  {"label": "pause", "method": "animate", "args": [[None], step]}]}],
        sliders=[{"active": 0, "x": 0.12, "len": 0.88, "y": -0.12, "yanchor": "top", "pad": {"t": 30},
                  "currentvalue": {"prefix": "snapshot: "},
                  "steps": [{"label": name, "method": "animate", "args": [[name], step]} for name in names]}])
    return figure


class SubspaceExplorer:
    """Interactive scatter of an embedding: pick the space, projection, colour and a highlighted tag.

    Parameters
    ----------
    embeddings : (n, d) array.
    labels_by_category : category -> (n,) labels (e.g. each track's genre); the "colour by" choices.
    subspace_slices : sub-space name -> slice of the embedding (see ``mdrbench.subspaces.subspace_slices``).
    tags_per_point : n lists of tags; the "highlight tag" choices and the text shown on click.
    audio_fn : index -> (audio, sample_rate); called when a point is clicked, the audio plays in the output.
    hover : n strings shown on hover (default: track id and tags).
    track_ids : n ids shown on click (default: the point index).

    static : draw a static ``go.Figure`` instead of a ``FigureWidget`` (for front-ends where the widget does not
        render). None (default): on Google Colab, or when ``MDRBENCH_STATIC_FIGURES=1``
        (:func:`mdrbench.colab.static_figures`).

    Usage in a notebook: ``explorer = SubspaceExplorer(...); explorer`` (the object displays as its widget) or
    ``display(explorer.widget)``. ``explorer.figure`` is the ``FigureWidget`` (static: a ``go.Figure``);
    ``explorer.output`` the click output. Without a front-end nothing displays, but ``set_subspace``,
    ``set_method``, ``set_color``, ``set_highlight_tag`` and ``select`` update the figure and output exactly as
    the widgets would.

    Static mode: displaying the explorer (or ``explorer.widget``) shows the dropdowns and a track picker (an
    ``ipywidgets`` box), then the figure and the picked track's labels, tags and audio player, each an
    ``IPython.display`` output that every change updates in place (Plotly figures inside an ``ipywidgets.Output``
    do not render on Colab either). Picking a track in ``explorer.picker`` calls ``select``, which also rings the
    track in the figure; hover and zoom are Plotly's own.
    """

    NO_TAG = "(none)"

    def __init__(self, embeddings, labels_by_category: Mapping[str, Sequence], subspace_slices: Mapping[str, slice],
                 tags_per_point: Sequence[Sequence[str]] | None = None,
                 audio_fn: Callable[[int], tuple[np.ndarray, int]] | None = None,
                 hover: Sequence[str] | None = None, track_ids: Sequence[str] | None = None, seed: int = 0,
                 static: bool | None = None):
        import ipywidgets
        from IPython.display import DisplayHandle

        from mdrbench.colab import static_figures

        self.embeddings = _as_embeddings(embeddings)
        n_points = len(self.embeddings)
        if not labels_by_category:
            raise ValueError("labels_by_category is empty; pass at least one category, e.g. {'genre': genres}.")
        self.labels_by_category = {category: _as_labels(values, n_points, name=f"labels_by_category[{category!r}]")
                                   for category, values in labels_by_category.items()}
        self.colors_by_category = {category: label_colors(values)
                                   for category, values in self.labels_by_category.items()}
        self.spaces: dict[str, slice | None] = {COMPLETE_SPACE: None, **subspace_slices}
        for block in self.spaces.values():
            _subspace_block(self.embeddings, block)  # fail now, not on the first dropdown change
        if tags_per_point is not None:
            if len(tags_per_point) != n_points:
                raise ValueError(f"tags_per_point must have one tag list per point ({n_points}), "
                                 f"got {len(tags_per_point)}.")
            tags_per_point = [[str(tag) for tag in tags] for tags in tags_per_point]
        self.tags_per_point = tags_per_point
        self.track_ids = (_as_hover(track_ids, n_points, name="track_ids") if track_ids is not None
                          else [str(i) for i in range(n_points)])
        if hover is None:
            hover = [f"{self.track_ids[i]}: {', '.join(tags_per_point[i])}" if tags_per_point else self.track_ids[i]
                     for i in range(n_points)]
        self.hover = _as_hover(hover, n_points)
        self.audio_fn = audio_fn
        self.seed = seed

        self.subspace = COMPLETE_SPACE
        self.method = "pca"
        self.color_by = next(iter(self.labels_by_category))
        self.highlight_tag: str | None = None
        self.selected_index: int | None = None
        self._projections: dict[tuple[str, str], np.ndarray] = {}  # t-SNE is slow: project each space once

        all_tags = sorted({tag for tags in (tags_per_point or []) for tag in tags})
        self.static = static_figures() if static is None else bool(static)
        figure_type = go.Figure if self.static else go.FigureWidget
        self.figure = figure_type(layout={"template": "plotly_white", "height": 480,
                                          "legend_title_text": self.color_by})
        self.output = ipywidgets.Output(layout={"border": "1px solid #ddd", "min_height": "60px"})
        self._dropdowns = {
            "subspace": ipywidgets.Dropdown(options=list(self.spaces), value=self.subspace, description="space"),
            "method": ipywidgets.Dropdown(options=["pca", "tsne"], value=self.method, description="projection"),
            "color_by": ipywidgets.Dropdown(options=list(self.labels_by_category), value=self.color_by,
                                            description="colour by"),
            "highlight_tag": ipywidgets.Dropdown(options=[self.NO_TAG, *all_tags], value=self.NO_TAG,
                                                 description="highlight"),
        }
        setters = {"subspace": self.set_subspace, "method": self.set_method, "color_by": self.set_color,
                   "highlight_tag": self.set_highlight_tag}
        for key, dropdown in self._dropdowns.items():
            dropdown.observe(lambda change, setter=setters[key]: setter(change["new"]), names="value")
        controls = ipywidgets.HBox(list(self._dropdowns.values()))
        self.picker = None  # static mode: the track picker (a click on a static figure reaches no callback)
        if self.static:
            self.picker = ipywidgets.Dropdown(options=[(self.hover[i], i) for i in range(n_points)], value=None,
                                              description="track", layout={"width": "600px"})
            self.picker.observe(self._on_pick, names="value")
            self.widget = _static_box_class()([controls, self.picker])
            self.widget.explorer = self
            # The figure and the picked track are plain outputs with a display id, updated in place.
            self._figure_handle, self._selection_handle = DisplayHandle(), DisplayHandle()
            self._shown = False
            self._selection = None  # the picked track's HTML (labels, tags, audio player)
        else:
            self.widget = ipywidgets.VBox([controls, self.figure, self.output])
        self._redraw()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        self.show()

    def show(self) -> None:
        """Display the explorer: its widget, or (static mode) the controls, the figure and the picked track."""
        from IPython.display import display

        if not self.static:
            display(self.widget)
            return
        display(self.widget._repr_mimebundle_(), raw=True)  # the controls (not display(widget): it comes here)
        self._figure_handle.display(self._figure_bundle(), raw=True)
        self._selection_handle.display(self._selection_html())
        self._shown = True

    # ---- state changes (the widget callbacks call these; tests call them directly)

    def set_subspace(self, name: str) -> None:
        """Show the complete space or one sub-space (a key of ``subspace_slices``)."""
        if name not in self.spaces:
            raise ValueError(f"unknown sub-space {name!r}; choose one of {list(self.spaces)}.")
        self._set("subspace", name)

    def set_method(self, method: str) -> None:
        """Project with 'pca' or 'tsne' (t-SNE is computed once per space, then cached)."""
        if method not in ("pca", "tsne"):
            raise ValueError(f"unknown projection method {method!r}; use 'pca' or 'tsne'.")
        self._set("method", method)

    def set_color(self, category: str) -> None:
        """Colour the points by the labels of one category."""
        if category not in self.labels_by_category:
            raise ValueError(f"unknown category {category!r}; choose one of {list(self.labels_by_category)}.")
        self._set("color_by", category)

    def set_highlight_tag(self, tag: str | None) -> None:
        """Draw the points carrying ``tag`` large and the rest faded; None or "(none)" highlights nothing."""
        tag = None if tag in (None, self.NO_TAG) else str(tag)
        if tag is not None and tag not in self._dropdowns["highlight_tag"].options:
            raise ValueError(f"unknown tag {tag!r}; it must occur in tags_per_point.")
        self._set("highlight_tag", tag)

    def _set(self, attribute: str, value) -> None:
        if getattr(self, attribute) == value:
            return
        setattr(self, attribute, value)
        # Keep the dropdown in step; its observer calls back here and returns at once (value unchanged).
        self._dropdowns[attribute].value = self.NO_TAG if value is None else value
        self._redraw()

    def highlight_mask(self) -> np.ndarray | None:
        """(n,) bool: the points carrying the highlighted tag, or None when no tag is highlighted."""
        if self.highlight_tag is None or self.tags_per_point is None:
            return None
        return np.array([self.highlight_tag in tags for tags in self.tags_per_point])

    def projection(self) -> np.ndarray:
        """(n, 2) coordinates of the current space and method."""
        key = (self.subspace, self.method)
        if key not in self._projections:
            block = _subspace_block(self.embeddings, self.spaces[self.subspace])
            self._projections[key] = project(block, method=self.method, seed=self.seed)
        return self._projections[key]

    def _redraw(self) -> None:
        labels = self.labels_by_category[self.color_by]
        traces = _scatter_traces(self.projection(), labels, self.colors_by_category[self.color_by],
                                 self.highlight_mask(), self.hover)
        if self.static and self.selected_index is not None:
            x, y = self.projection()[self.selected_index]
            traces.append(go.Scatter(x=[x], y=[y], mode="markers", name="picked", showlegend=False,
                                     hoverinfo="skip", marker={"symbol": "circle-open", "size": 18,
                                                               "color": "black", "line": {"width": 2}}))
        axis = "PCA" if self.method == "pca" else "t-SNE"
        with self.figure.batch_update():
            self.figure.data = []
            self.figure.add_traces(traces)
            self.figure.layout.title = f"{self.subspace} space, coloured by {self.color_by}"
            self.figure.layout.legend.title.text = self.color_by
            self.figure.layout.xaxis.title.text = f"{axis} 1"
            self.figure.layout.yaxis.title.text = f"{axis} 2"
        if self.static:
            if self._shown:
                self._figure_handle.update(self._figure_bundle(), raw=True)
            return
        # The traces are new objects, so the click handlers must be attached again.
        for trace in self.figure.data:
            trace.on_click(self._on_click)

    def _figure_bundle(self) -> dict:
        """The static figure's mime bundle for the current renderer (Colab's: HTML loading plotly.js)."""
        bundle = self.figure._repr_mimebundle_()
        return bundle or {"text/html": self.figure.to_html(full_html=False, include_plotlyjs="cdn")}

    def _selection_html(self):
        """Static mode: the picked track's labels, tags and audio player, as one HTML output."""
        from IPython.display import HTML

        if self._selection is None:
            return HTML("<i>Pick a track above to see its labels and tags and to hear it.</i>")
        return self._selection

    def _on_pick(self, change) -> None:
        if change["new"] is not None and change["new"] != self.selected_index:
            self.select(int(change["new"]))

    def _on_click(self, trace, points, state) -> None:
        if points.point_inds:
            self.select(int(trace.customdata[points.point_inds[0]]))

    def select(self, index: int) -> None:
        """Show point ``index``'s id, labels and tags in the output area and play its audio (if audio_fn)."""
        from IPython.display import HTML

        if not 0 <= index < len(self.embeddings):
            raise ValueError(f"index {index} is out of range for {len(self.embeddings)} points.")
        self.selected_index = int(index)
        # append_display_data works with and without a kernel, unlike `with output: display(...)`.
        self.output.outputs = ()
        info = HTML(self._selection_lines(index))
        self.output.append_display_data(info)
        player = None
        if self.audio_fn is not None:
            audio, sample_rate = self.audio_fn(index)
            player = audio_player(audio, sample_rate, autoplay=self.static)  # static: a pick is the click
            self.output.append_display_data(player)
        if self.static:
            self._selection = HTML("<br>".join([info.data, *([player._repr_html_()] if player else [])]))
            self.picker.value = self.selected_index  # in step with code; _on_pick returns at once
            self._redraw()  # ring the picked track
            if self._shown:
                self._selection_handle.update(self._selection)

    def _selection_lines(self, index: int) -> str:
        labels = ", ".join(f"{category}: {values[index]}" for category, values in self.labels_by_category.items())
        lines = [f"<b>{html.escape(self.track_ids[index])}</b> (point {index})", html.escape(labels)]
        if self.tags_per_point is not None:
            lines.append("tags: " + html.escape(", ".join(self.tags_per_point[index]) or "(none)"))
        return "<br>".join(lines)


@functools.cache
def _static_box_class():
    """An ``ipywidgets.VBox`` of the static explorer's controls that displays the whole explorer."""
    import ipywidgets

    class StaticExplorerBox(ipywidgets.VBox):
        explorer: SubspaceExplorer | None = None

        def _ipython_display_(self) -> None:
            if self.explorer is None:
                from IPython.display import display

                display(self._repr_mimebundle_(), raw=True)
            else:
                self.explorer.show()

    return StaticExplorerBox


# ----------------------------------------------------------------------------------------------------- audio


def mel_figure(mel, sample_rate: int, hop_length: int, title: str | None = None) -> go.Figure:
    """Heatmap of one (log-)mel spectrogram of shape (n_mels, n_frames); x in seconds, y in mel bins."""
    mel = _as_mel(mel, "mel")
    figure = go.Figure(_mel_heatmap(mel, sample_rate, hop_length, showscale=True))
    figure.update_layout(title=title, xaxis_title="time (s)", yaxis_title="mel bin", template="plotly_white")
    return figure


def mel_grid(mels: Mapping[str, np.ndarray], sample_rate: int, hop_length: int, columns: int = 4,
             title: str | None = None) -> go.Figure:
    """Small multiples: one mel heatmap per entry (e.g. one per genre), on one shared colour scale."""
    if not mels:
        raise ValueError("mels is empty; pass e.g. {'rock': mel_of_a_rock_track}.")
    arrays = {name: _as_mel(mel, f"mels[{name!r}]") for name, mel in mels.items()}
    columns = max(1, min(columns, len(arrays)))
    rows = -(-len(arrays) // columns)
    low = min(float(mel.min()) for mel in arrays.values())
    high = max(float(mel.max()) for mel in arrays.values())
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=list(arrays),
                           horizontal_spacing=0.04, vertical_spacing=0.12)
    for position, mel in enumerate(arrays.values()):
        heatmap = _mel_heatmap(mel, sample_rate, hop_length, showscale=position == 0)
        heatmap.update(zmin=low, zmax=high)
        figure.add_trace(heatmap, row=position // columns + 1, col=position % columns + 1)
    figure.update_xaxes(title_text="time (s)", row=rows)
    figure.update_yaxes(title_text="mel bin", col=1)
    figure.update_layout(title=title, height=220 * rows + 80, template="plotly_white")
    return figure


def _as_mel(mel, name: str) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    if mel.ndim != 2 or 0 in mel.shape:
        raise ValueError(f"{name} must have shape (n_mels, n_frames), got {mel.shape}; "
                         f"drop a batch or channel axis first (e.g. mel[0] or mel.squeeze()).")
    return mel


def _mel_heatmap(mel: np.ndarray, sample_rate: int, hop_length: int, showscale: bool) -> go.Heatmap:
    if sample_rate <= 0 or hop_length <= 0:
        raise ValueError(f"sample_rate and hop_length must be positive, got {sample_rate} and {hop_length}.")
    seconds = np.arange(mel.shape[1]) * hop_length / sample_rate
    return go.Heatmap(z=mel, x=seconds, y=np.arange(mel.shape[0]), colorscale="Magma", showscale=showscale,
                      colorbar={"title": {"text": "level"}},
                      hovertemplate="t=%{x:.2f} s<br>mel bin %{y}<br>%{z:.2f}<extra></extra>")


def average_spectrum(audio, sample_rate: int, frame_length: int = 2048,
                     hop_length: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Mean magnitude spectrum of mono audio (n_samples,) in dB re its peak: (frequencies Hz, dB), both (F,).

    Averaging the Hann-windowed STFT magnitude over frames shows the bandwidth (an era's low-pass) and the
    spectral tilt (timbre) independent of where the notes fall.
    """
    audio = _as_audio(audio)
    if audio.ndim == 2:
        audio = audio.mean(axis=0)  # (channels, samples) -> mono
    if len(audio) < frame_length:
        audio = np.pad(audio, (0, frame_length - len(audio)))
    frames = np.lib.stride_tricks.sliding_window_view(audio, frame_length)[::hop_length]
    magnitude = np.abs(np.fft.rfft(frames * np.hanning(frame_length), axis=1)).mean(axis=0)
    decibels = 20 * np.log10(np.maximum(magnitude, 1e-10) / max(float(magnitude.max()), 1e-10))
    return np.fft.rfftfreq(frame_length, d=1 / sample_rate), decibels


def waveform_spectrum_figure(audio, sample_rate: int, frame_length: int = 2048, hop_length: int = 512,
                             title: str | None = None) -> go.Figure:
    """Average magnitude spectrum (dB vs frequency, log axis) of one clip, or of several to compare.

    ``audio`` is (n_samples,) or (channels, n_samples), or a dict name -> such an array (one line each,
    e.g. one per era to see the bandwidth shrink from the 00s to the 60s).
    """
    clips = audio if isinstance(audio, Mapping) else {"audio": audio}
    if not clips:
        raise ValueError("audio is an empty dict; pass at least one clip.")
    colors = label_colors(clips.keys())
    figure = go.Figure()
    for name, clip in clips.items():
        frequencies, decibels = average_spectrum(clip, sample_rate, frame_length, hop_length)
        # Skip 0 Hz, which a log axis cannot show.
        figure.add_trace(go.Scatter(x=frequencies[1:], y=decibels[1:], mode="lines", name=str(name),
                                    line={"color": colors[str(name)]},
                                    hovertemplate="%{x:.0f} Hz: %{y:.1f} dB<extra>" + html.escape(str(name))
                                    + "</extra>"))
    figure.update_layout(title=title, xaxis_title="frequency (Hz)", yaxis_title="magnitude (dB re peak)",
                         xaxis_type="log", template="plotly_white", showlegend=len(clips) > 1)
    return figure


def _as_audio(audio) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim not in (1, 2) or audio.size == 0:
        raise ValueError(f"audio must have shape (n_samples,) or (channels, n_samples), got {audio.shape}.")
    if audio.ndim == 2 and audio.shape[0] > audio.shape[1]:
        raise ValueError(f"audio of shape {audio.shape} looks like (n_samples, channels); pass audio.T.")
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio contains NaN or inf.")
    return audio


def audio_player(audio, sample_rate: int, autoplay: bool = False):
    """An ``IPython.display.Audio`` for (n_samples,) or (channels, n_samples) audio; safe headless.

    Silence is not normalised (IPython would divide by zero). ``autoplay`` starts it once displayed (where the
    browser allows it).
    """
    from IPython.display import Audio

    audio = _as_audio(audio)
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}.")
    peak = float(np.abs(audio).max())
    return Audio(audio, rate=int(sample_rate), normalize=peak > 0, autoplay=autoplay)


def audio_table(clips: Sequence[tuple[str, np.ndarray]], sample_rate: int, seconds: float | None = 4.0,
                title: str | None = None):
    """Labelled audio players in one HTML table, to listen to a list of tracks side by side.

    Args:
        clips: (label, audio) pairs; ``audio`` (n_samples,) or (channels, n_samples). The label is shown as text
            (escaped), e.g. "neighbour 1: synth-000123 (jazz, calm)".
        sample_rate: of every clip.
        seconds: each clip is cut to its middle ``seconds`` (None: whole clips), which keeps the notebook small.
        title: an optional caption.

    Returns an ``IPython.display.HTML`` (plain HTML ``<audio>`` elements: it renders in JupyterLab, Colab and
    exported pages alike; ``display()`` it).
    """
    from IPython.display import HTML

    from mdrbench.audio import window_bounds

    if not clips:
        raise ValueError("clips is empty: pass (label, audio) pairs, e.g. [('query', corpus.audio(0))].")
    rows = []
    for label, audio in clips:
        audio = _as_audio(audio)
        if seconds is not None:
            start, stop = window_bounds(audio.shape[-1], sample_rate, seconds)  # the middle `seconds`
            audio = audio[..., start:stop]
        player = audio_player(audio, sample_rate)._repr_html_()
        rows.append(f"<tr><td style='text-align:left;padding-right:1em'>{html.escape(str(label))}</td>"
                    f"<td>{player}</td></tr>")
    caption = f"<caption style='text-align:left'>{html.escape(title)}</caption>" if title else ""
    return HTML(f"<table>{caption}{''.join(rows)}</table>")


# ---------------------------------------------------------------------------------------------- tags, tables


def tag_frequency_figure(tag_counts: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Bars of tag counts, sorted descending, coloured by category (one trace per category).

    ``tag_counts`` has columns tag, category, count and optionally clean_count (the ground-truth positives
    before tag noise). When given, clean_count is drawn as an outlined bar behind each count, so the gap
    shows the positives the noisy tags miss (one extra trace).
    """
    _require_columns(tag_counts, {"tag", "category", "count"}, "tag_counts")
    table = tag_counts.sort_values("count", ascending=False, kind="stable")
    has_clean = "clean_count" in table.columns
    figure = go.Figure()
    if has_clean:
        figure.add_trace(go.Bar(
            x=table["tag"], y=table["clean_count"], name="ground truth (clean)",
            marker={"color": "rgba(0,0,0,0)", "line": {"color": "#555", "width": 1.2}},
            customdata=np.stack([table["clean_count"] - table["count"]], axis=1),
            hovertemplate="%{x}: %{y} true positives, %{customdata[0]} missing from the tags<extra></extra>"))
    categories = list(dict.fromkeys(table["category"].astype(str)))
    fallback = label_colors(categories)
    for category in categories:
        rows = table[table["category"].astype(str) == category]
        figure.add_trace(go.Bar(x=rows["tag"], y=rows["count"], name=category,
                                marker_color=CATEGORY_COLORS.get(category, fallback[category]),
                                opacity=0.85 if has_clean else 1.0,
                                hovertemplate="%{x}: %{y} tracks<extra>" + html.escape(category) + "</extra>"))
    figure.update_layout(title=title, barmode="overlay", xaxis_title="tag", yaxis_title="tracks",
                         legend_title_text="category", template="plotly_white",
                         xaxis={"categoryorder": "array", "categoryarray": list(table["tag"]), "tickangle": -60})
    return figure


def _require_columns(table: pd.DataFrame, required: set[str], name: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(table).__name__}.")
    missing = sorted(required - set(table.columns))
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(table.columns)}.")


def _model_names(table: pd.DataFrame, models: Sequence) -> list[str]:
    """Row labels of a results table; the paper's CSV rows (model, normalization, disentanglement) become the
    project's configuration names, e.g. ("triplet+track_reg", 1, 1) -> "triplet-track-norm-dis", so that ours
    and the paper's rows share names and colours."""
    names = [str(model) for model in models]
    if not {"normalization", "disentanglement"} <= set(table.columns):
        return names
    return [f"{name.replace('+track_reg', '-track')}-{'norm' if int(norm) else 'raw'}-{'dis' if int(dis) else 'full'}"
            for name, norm, dis in zip(names, table["normalization"], table["disentanglement"], strict=True)]


_RECALL_COLUMN = re.compile(r"^(?:R@|r_at_)(\d+)$", re.IGNORECASE)


def recall_at_k_figure(results: pd.DataFrame, title: str | None = None) -> go.Figure:
    """R@K over K, one line per row (model): ours solid, the paper's dashed, same colour per model.

    ``results``: rows = models (index, or a "model" column), columns "R@1", "R@2", ... (or "r_at_1", ...,
    as in the paper's CSV, whose normalization/disentanglement columns are folded into the model name),
    optional "source" column with "ours" / "paper".
    """
    if not isinstance(results, pd.DataFrame):
        raise ValueError(f"results must be a pandas DataFrame, got {type(results).__name__}.")
    k_columns = sorted(((int(match.group(1)), column) for column in results.columns
                        if (match := _RECALL_COLUMN.match(str(column)))), key=lambda pair: pair[0])
    if not k_columns:
        raise ValueError(f"results has no recall column like 'R@1' or 'r_at_1'; columns: {list(results.columns)}.")
    ks = [k for k, _ in k_columns]
    models = _model_names(results, results["model"] if "model" in results.columns else results.index)
    sources = results["source"].astype(str).tolist() if "source" in results.columns else ["ours"] * len(results)
    colors = label_colors(models)
    figure = go.Figure()
    for row, (model, source) in enumerate(zip(models, sources, strict=True)):
        values = results.iloc[row][[column for _, column in k_columns]].to_numpy(dtype=float)
        figure.add_trace(go.Scatter(
            x=ks, y=values, mode="lines+markers", name=f"{model} ({source})", legendgroup=model,
            line={"color": colors[model], "dash": "dash" if source == "paper" else "solid"},
            hovertemplate="R@%{x} = %{y:.3g}<extra>" + html.escape(f"{model} ({source})") + "</extra>"))
    figure.update_layout(title=title, xaxis_title="K (neighbours)", yaxis_title="R@K", template="plotly_white",
                         xaxis={"type": "log", "tickvals": ks, "ticktext": [str(k) for k in ks]})
    return figure


TRIPLET_COLUMNS: tuple[str, ...] = ("genre", "mood", "instrument", "era", "overall")


def triplet_accuracy_figure(table: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Grouped bars of triplet accuracy per dimension, one panel per space, one trace per (space, model) row.

    ``table`` is like the paper's Table 3: rows indexed by (space, model) (a MultiIndex, or "space" and
    "model" columns), columns genre, mood, instrument, era, overall (any present subset); the paper's
    ``paper_triplets.csv`` works as is. A dashed line marks chance (0.5, or 50 when the values are percentages).
    """
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame, got {type(table).__name__}.")
    if {"space", "model"} <= set(table.columns):
        table = table.set_index(["space", "model"])
    if table.index.nlevels != 2:
        raise ValueError("table needs rows indexed by (space, model): a 2-level MultiIndex or 'space' and "
                         "'model' columns.")
    columns = [column for column in TRIPLET_COLUMNS if column in table.columns]
    if not columns:
        raise ValueError(f"table has none of the columns {list(TRIPLET_COLUMNS)}; columns: {list(table.columns)}.")
    row_spaces = [str(space) for space in table.index.get_level_values(0)]
    spaces = list(dict.fromkeys(row_spaces))
    models = _model_names(table, table.index.get_level_values(1))
    colors = label_colors(models)
    titles = [space if "space" in space else f"{space} space" for space in spaces]
    figure = make_subplots(rows=1, cols=len(spaces), shared_yaxes=True, subplot_titles=titles)
    shown: set[str] = set()
    for space, model, values in zip(row_spaces, models, table[columns].to_numpy(dtype=float), strict=True):
        figure.add_trace(go.Bar(x=columns, y=values, name=model, legendgroup=model, marker_color=colors[model],
                                showlegend=model not in shown,
                                hovertemplate="%{x}: %{y:.3f}<extra>" + html.escape(f"{model}, {space}")
                                + "</extra>"),
                         row=1, col=spaces.index(space) + 1)
        shown.add(model)
    chance = 50.0 if np.nanmax(table[columns].to_numpy(dtype=float)) > 1.0 else 0.5
    figure.add_hline(y=chance, line_dash="dash", line_color="#888", annotation_text="chance")
    figure.update_yaxes(title_text="triplet accuracy", col=1)
    figure.update_layout(title=title, barmode="group", legend_title_text="model", template="plotly_white")
    return figure


def interval_figure(table: pd.DataFrame, column: str, title: str | None = None, axis_title: str | None = None,
                    baselines: Sequence[str] = ("random", "mel-statistics")) -> go.Figure:
    """One bar per row of a table in :func:`mdrbench.report.table1`'s layout: the mean over seeds (``column``),
    the interval's half-width as an error bar (``"{column} ±"``, when present) and the paper's value as a
    diamond (``"{column} paper"``, when present). Rows named in ``baselines`` are grey bars, and a dotted line
    at each baseline's mean runs across the figure, so every model is read against them.
    """
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame, got {type(table).__name__}.")
    _require_columns(table, {column}, "table")
    rows = [str(row) for row in table.index]
    means = table[column].to_numpy(dtype=float)
    halves = table[f"{column} ±"].to_numpy(dtype=float) if f"{column} ±" in table else np.full(len(rows), np.nan)
    is_baseline = [row in baselines for row in rows]
    colors = label_colors([row for row, base in zip(rows, is_baseline, strict=True) if not base])
    figure = go.Figure(go.Bar(
        x=rows, y=means, name="ours (mean over seeds)",
        marker_color=["#b0b0b0" if base else colors[row] for row, base in zip(rows, is_baseline, strict=True)],
        error_y={"type": "data", "array": np.nan_to_num(halves), "visible": True, "color": "#333"},
        customdata=halves, hovertemplate="%{x}: %{y:.3f} ± %{customdata:.3f}<extra></extra>"))
    if f"{column} paper" in table:
        paper = table[f"{column} paper"].to_numpy(dtype=float)
        if np.isfinite(paper).any():
            figure.add_trace(go.Scatter(x=rows, y=paper, mode="markers", name="the paper",
                                        marker={"symbol": "diamond", "size": 11, "color": "#ff7f0e"},
                                        hovertemplate="%{x}, paper: %{y:.3f}<extra></extra>"))
    for row, mean, base in zip(rows, means, is_baseline, strict=True):
        if base and np.isfinite(mean):
            figure.add_hline(y=mean, line_dash="dot", line_color="#777", annotation_text=row,
                             annotation_position="top left")
    figure.update_layout(title=title, yaxis_title=axis_title or column, template="plotly_white",
                         legend_title_text="")
    return figure


def training_time_figure(histories: Mapping[str, Mapping[str, Sequence[float]]],
                         title: str | None = None) -> go.Figure:
    """Validation loss against cumulative training wall time, one line per model.

    ``histories``: model name -> {"epoch_seconds": [...], "val_loss": [...]} of equal length (one per epoch).
    A model that reaches a low loss further left trains faster, whatever its number of epochs.
    """
    if not histories:
        raise ValueError("histories is empty; pass {model name: {'epoch_seconds': [...], 'val_loss': [...]}}.")
    colors = label_colors(histories.keys())
    figure = go.Figure()
    for name, history in histories.items():
        missing = sorted({"epoch_seconds", "val_loss"} - set(history))
        if missing:
            raise ValueError(f"history of {name!r} lacks {missing}.")
        seconds = np.asarray(history["epoch_seconds"], dtype=float)
        losses = np.asarray(history["val_loss"], dtype=float)
        if seconds.shape != losses.shape or seconds.ndim != 1:
            raise ValueError(f"history of {name!r}: epoch_seconds {seconds.shape} and val_loss {losses.shape} "
                             f"must be 1-d with one value per epoch.")
        figure.add_trace(go.Scatter(
            x=np.cumsum(seconds), y=losses, mode="lines+markers", name=str(name),
            line={"color": colors[str(name)]}, customdata=np.arange(1, len(seconds) + 1),
            hovertemplate="epoch %{customdata}: %{x:.1f} s, val loss %{y:.4g}<extra>" + html.escape(str(name))
            + "</extra>"))
    figure.update_layout(title=title, xaxis_title="cumulative training time (s)", yaxis_title="validation loss",
                         legend_title_text="model", template="plotly_white")
    return figure


def metric_curves_figure(curves: pd.DataFrame, x: str = "epoch", by: str = "model",
                         columns: Sequence[str] | None = None, title: str | None = None,
                         panels_per_row: int = 2) -> go.Figure:
    """Metrics over training (or any ``x``): one panel per metric, one line per group (e.g. per model).

    ``curves`` is a long table, one row per (group, x), e.g. columns model, epoch, "R@1", "mean cosine".
    ``columns`` picks and orders the panels (default: every numeric column but ``x``); a group's lines share one
    colour and one legend entry, which toggles the group in every panel. Groups may have different lengths (a
    run that stopped earlier).
    """
    if not isinstance(curves, pd.DataFrame):
        raise ValueError(f"curves must be a pandas DataFrame, got {type(curves).__name__}.")
    _require_columns(curves, {x, by}, "curves")
    if columns is None:
        columns = [column for column in curves.select_dtypes("number").columns if column not in (x, by)]
    columns = [str(column) for column in columns]
    _require_columns(curves, set(columns), "curves")
    if not columns:
        raise ValueError(f"curves has no numeric column to plot besides {x!r}; columns: {list(curves.columns)}.")
    if panels_per_row < 1:
        raise ValueError(f"panels_per_row must be >= 1, got {panels_per_row}.")
    n_columns = min(panels_per_row, len(columns))
    n_rows = -(-len(columns) // n_columns)
    groups = [str(group) for group in dict.fromkeys(curves[by])]
    colors = label_colors(groups)
    figure = make_subplots(rows=n_rows, cols=n_columns, subplot_titles=columns, horizontal_spacing=0.1,
                           vertical_spacing=0.18 if n_rows > 1 else 0.1)
    for panel, column in enumerate(columns):
        row, col = divmod(panel, n_columns)
        for group in groups:
            part = curves[curves[by].astype(str) == group].sort_values(x)
            figure.add_trace(go.Scatter(
                x=part[x], y=part[column], mode="lines+markers", name=group, legendgroup=group,
                showlegend=panel == 0, line={"color": colors[group]}, marker={"size": 5},
                hovertemplate=f"{html.escape(x)} %{{x}}: %{{y:.4g}}<extra>{html.escape(group)}</extra>"),
                row=row + 1, col=col + 1)
        figure.update_xaxes(title_text=x, row=row + 1, col=col + 1)
    figure.update_layout(title=title, template="plotly_white", legend_title_text=by,
                         height=max(320, 280 * n_rows))
    return figure


def disentanglement_heatmap(matrix: pd.DataFrame, title: str | None = None, value_name: str = "score") -> go.Figure:
    """Heatmap of a score per (sub-space row, category column), values written in the cells.

    A disentangled model has its largest values on the diagonal (the genre sub-space scores best on genre).
    """
    if not isinstance(matrix, pd.DataFrame) or matrix.empty:
        raise ValueError("matrix must be a non-empty pandas DataFrame (rows sub-spaces, columns categories).")
    values = matrix.to_numpy(dtype=float)
    figure = go.Figure(go.Heatmap(
        z=values, x=[str(c) for c in matrix.columns], y=[str(r) for r in matrix.index], colorscale="Blues",
        texttemplate="%{z:.2f}", colorbar={"title": {"text": value_name}},
        hovertemplate="sub-space %{y}, category %{x}: %{z:.3f}<extra></extra>"))
    figure.update_layout(title=title, xaxis_title="category", yaxis_title="sub-space", template="plotly_white",
                         yaxis={"autorange": "reversed"})
    return figure


def cosine_heatmaps(embeddings_by_name: Mapping[str, np.ndarray], order=None, labels: Sequence[str] | None = None,
                    groups: Sequence | None = None, title: str | None = None, height: int = 340) -> go.Figure:
    """One cosine-similarity heatmap per embedding set, side by side, on a shared -1..1 scale.

    Args:
        embeddings_by_name: name -> (n, d) vectors (tracks, proxies...), the same n rows in each.
        order: a permutation of the n rows (e.g. sorted by genre), so that groups show as diagonal blocks.
        labels: (n,) tick labels, in the original row order; None hides the ticks.
        groups: (n,) group of each row, in the original row order: a line is drawn where the group changes
            along ``order``.
    """
    from mdrbench.similarity import cosine_matrix

    if not embeddings_by_name:
        raise ValueError("embeddings_by_name is empty: pass at least one name -> (n, d) array.")
    matrices = {name: cosine_matrix(vectors) for name, vectors in embeddings_by_name.items()}
    n_rows = len(next(iter(matrices.values())))
    order = np.arange(n_rows) if order is None else np.asarray(order)
    if sorted(order.tolist()) != list(range(n_rows)) or any(len(m) != n_rows for m in matrices.values()):
        raise ValueError(f"every embedding set needs the same {n_rows} rows and order must be a permutation of them.")
    ticks = None if labels is None else [str(labels[i]) for i in order]
    figure = make_subplots(rows=1, cols=len(matrices), subplot_titles=list(matrices), horizontal_spacing=0.04)
    for column, matrix in enumerate(matrices.values(), start=1):
        figure.add_trace(go.Heatmap(z=matrix[order][:, order], x=ticks, y=ticks, zmin=-1, zmax=1, colorscale="RdBu_r",
                                    showscale=column == len(matrices),
                                    hovertemplate="cos %{z:.2f}<extra></extra>"), row=1, col=column)
    if groups is not None:
        ordered = np.asarray(groups)[order]
        for boundary in np.flatnonzero(ordered[1:] != ordered[:-1]) + 0.5:
            figure.add_hline(y=boundary, line_color="black", line_width=1)
            figure.add_vline(x=boundary, line_color="black", line_width=1)
    figure.update_xaxes(showticklabels=ticks is not None)
    figure.update_yaxes(showticklabels=ticks is not None, autorange="reversed")
    figure.update_layout(title=title, template="plotly_white", height=height,
                         width=max(420, 330 * len(matrices)) if ticks is None else None)
    return figure


def roc_figure(labels, scores, title: str | None = None) -> go.Figure:
    """One tag's scores two ways: positives vs negatives as points (left), and the ROC curve (right).

    ROC-AUC is the chance that a random positive scores above a random negative (left), and also the area
    under the ROC curve (right); the legend gives that area (scikit-learn's ``roc_auc_score``).

    Args:
        labels: (n,) bool, whether each track carries the tag.
        scores: (n,) the tag's score per track (a logit, a cosine: only the order matters).
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    labels, scores = np.asarray(labels, dtype=bool), np.asarray(scores, dtype=float)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(f"labels and scores must be two (n,) arrays of one length; got {labels.shape} and "
                         f"{scores.shape}.")
    if labels.all() or not labels.any():
        raise ValueError("ROC needs at least one positive and one negative track; this tag has "
                         f"{int(labels.sum())} positives of {len(labels)}. Pick a tag present in some tracks only.")
    false_positive_rate, true_positive_rate, _ = roc_curve(labels, scores)
    figure = go.Figure()
    for name, values, color in (("negatives", scores[~labels], "#999999"), ("positives", scores[labels], "#d62728")):
        figure.add_trace(go.Box(y=values, name=name, boxpoints="all", jitter=0.4, pointpos=0, marker_color=color,
                                xaxis="x", yaxis="y"))
    figure.add_trace(go.Scatter(x=false_positive_rate, y=true_positive_rate, mode="lines", fill="tozeroy",
                                name=f"ROC (area {roc_auc_score(labels, scores):.3f})",
                                line={"color": "#1f77b4"}, xaxis="x2", yaxis="y2"))  # straight: a tie is a diagonal
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                                line={"dash": "dash", "color": "#888"}, xaxis="x2", yaxis="y2"))
    figure.update_layout(title=title, template="plotly_white", height=380, xaxis={"domain": [0, 0.4]},
                         yaxis={"title": "tag score"}, xaxis2={"domain": [0.55, 1], "title": "false-positive rate"},
                         yaxis2={"anchor": "x2", "title": "true-positive rate", "range": [0, 1.02]})
    return figure


def neighbors_table(query_index: int, neighbor_indices, track_ids: Sequence[str],
                    tags_per_track: Sequence[Sequence[str]], similarities) -> pd.DataFrame:
    """The k retrieved neighbours of one query as a table: rank, index, track_id, similarity, tags, shared_tags.

    ``neighbor_indices`` (k,) and ``similarities`` (k,) come from a nearest-neighbour search; shared_tags lists
    the neighbour's tags that the query also carries (what R@K counts).
    """
    neighbor_indices = np.asarray(neighbor_indices)
    similarities = np.asarray(similarities, dtype=float)
    if neighbor_indices.ndim != 1 or similarities.shape != neighbor_indices.shape:
        raise ValueError(f"neighbor_indices {neighbor_indices.shape} and similarities {similarities.shape} must "
                         f"both have shape (k,).")
    if len(track_ids) != len(tags_per_track):
        raise ValueError(f"track_ids ({len(track_ids)}) and tags_per_track ({len(tags_per_track)}) must have "
                         f"one entry per track.")
    n_tracks = len(track_ids)
    if not np.issubdtype(neighbor_indices.dtype, np.integer) and neighbor_indices.size:
        raise ValueError(f"neighbor_indices must be integers, got dtype {neighbor_indices.dtype}.")
    out_of_range = [int(i) for i in [query_index, *neighbor_indices.tolist()] if not 0 <= int(i) < n_tracks]
    if out_of_range:
        raise ValueError(f"indices {out_of_range} are out of range for {n_tracks} tracks.")
    query_tags = set(tags_per_track[query_index])
    return pd.DataFrame({
        "rank": np.arange(1, len(neighbor_indices) + 1),
        "index": neighbor_indices.astype(int),
        "track_id": [str(track_ids[i]) for i in neighbor_indices],
        "similarity": similarities,
        "tags": [", ".join(tags_per_track[i]) for i in neighbor_indices],
        "shared_tags": [", ".join(t for t in tags_per_track[i] if t in query_tags) for i in neighbor_indices],
    })


# ---------------------------------------------------------------------------------------------------- saving

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".svg", ".pdf"}


def save_figure(figure: go.Figure, path) -> Path:
    """Write a figure to ``.html`` (always works; plotly.js from its CDN) or to an image.

    Images (.png, .svg, .pdf, ...) need kaleido and a Chrome/Chromium browser; without them this raises a
    RuntimeError that says so, rather than an obscure kaleido traceback. Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".html", ".htm", *_IMAGE_SUFFIXES}:
        raise ValueError(f"cannot save a figure as {suffix or 'a file without suffix'!r}; use .html, or an image "
                         f"suffix {sorted(_IMAGE_SUFFIXES)}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in {".html", ".htm"}:
        figure.write_html(path, include_plotlyjs="cdn")
        return path
    try:
        figure.write_image(path)
    except (ImportError, RuntimeError, ValueError, OSError) as error:
        reason = (str(error).strip().splitlines() or [""])[0]
        raise RuntimeError(f"could not write {path.name}: static images need kaleido and Chrome/Chromium "
                           f"({type(error).__name__}: {reason}). Save as .html instead, or `pip install kaleido` "
                           f"and install Chrome (e.g. `plotly_get_chrome`).") from error
    return path
