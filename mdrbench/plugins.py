"""Any audio embedding model in: the HEAR 2021 module API, or a plain Python function on waveforms.

A model from outside mdrbench reaches the benchmark through one of two doors, and both end in the same
:class:`AudioModel` (checked batches of waveforms in, float32 embeddings out):

- a **HEAR module** (Turian et al. 2022, the API the audio community writes to; hear-eval-kit and
  hear-validator check it): an importable module name or a path to a ``.py`` file with
  ``load_model(model_file_path) -> torch.nn.Module`` whose model has ``sample_rate`` (16000, 22050, 44100 or
  48000), ``scene_embedding_size`` and ``timestamp_embedding_size``; ``get_scene_embeddings(audio, model)``
  taking float32 ``[n, samples]`` at the model's rate and returning float32 ``[n, scene_embedding_size]``; and
  ``get_timestamp_embeddings(audio, model)``. See :func:`load_hear_module`;
- a **function** for notebooks: ``embed(audio) -> (n, D)`` on a float32 numpy batch ``(n, samples)`` at a
  rate you name (:func:`function_model`).

:class:`AudioExcerptEmbedder` then plays the part of a native model in :mod:`mdrbench.evaluate`: it hears each
of the benchmark's fixed 3-s excerpts of a track (the audio under the same log-mel frames the native models
see), down-mixed and resampled with soxr to the module's rate, and its excerpt embeddings are cached on disk
(:class:`EmbeddingCache`), keyed by the module's code, its weights file, the corpus and the window, and
validated on read: scoring again, or adding a task, costs no embedding pass, and a changed module or corpus
is never served stale.

A module that misbehaves raises :class:`PluginError`, one line naming the module, what is wrong and the fix;
what was embedded before is kept in the cache.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mdrbench.errors import MdrbenchError

HEAR_SAMPLE_RATES = (16000, 22050, 44100, 48000)
HEAR_FUNCTIONS = ("load_model", "get_scene_embeddings", "get_timestamp_embeddings")
CACHE_VERSION = 1
DEFAULT_BATCH_SIZE = 32
FILE_MODULE_PREFIX = "mdrbench_plugin_"


class PluginError(MdrbenchError, ValueError):
    """An external model cannot be used as it is: the message names the module, the problem and the fix."""


# ------------------------------------------------------------------------------------------- the model
class AudioModel:
    """An external embedding model behind checks: float32 waveforms ``(n, samples)`` in, ``(n, D)`` out.

    Every batch's output is checked (a tensor or array, float32, two dimensions, one row per input, the
    declared width, finite), and a batch that runs out of memory is retried in halves.

    Attributes:
        name: the module's name (or the function's), as rows of the report show it.
        sample_rate: the rate in Hz the model expects.
        embedding_size: D, or None until the first batch (a function need not declare it).
        identity: what the model's embeddings depend on (its code and weights, hashed), or None when that
            cannot be known (then nothing is cached).
        info: what the result records about the model (module, file, weights, rates).
    """

    def __init__(self, name: str, sample_rate: int, embed: Callable, embedding_size: int | None = None,
                 identity: str | None = None, info: dict | None = None, fix: str = ""):
        self.name, self.sample_rate, self._embed = name, int(sample_rate), embed
        self.embedding_size = embedding_size
        self.identity, self.info, self._fix = identity, dict(info or {}), fix

    def __repr__(self) -> str:
        return f"AudioModel({self.name!r}, {self.sample_rate} Hz, D={self.embedding_size})"

    def _problem(self, what: str, fix: str) -> PluginError:
        return PluginError(f"{self.name}: {what}. Fix: {fix}")

    def embed(self, audio: np.ndarray, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """(n, samples) float32 at :attr:`sample_rate` -> (n, D) float32, in batches of ``batch_size``."""
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        rows, start, size = [], 0, max(1, int(batch_size))
        while start < len(audio):
            batch = audio[start:start + size]
            try:
                rows.append(self._checked(batch))
            except MemoryError:
                if size == 1:
                    raise self._problem("ran out of memory on a single excerpt",
                                        "free memory, or run the module on a machine with more") from None
                size = max(1, size // 2)
                warnings.warn(f"{self.name}: out of memory on a batch; retrying with batches of {size}.",
                              stacklevel=2)
                continue
            start += len(batch)
        return np.concatenate(rows) if rows else np.zeros((0, self.embedding_size or 0), dtype=np.float32)

    def _checked(self, batch: np.ndarray) -> np.ndarray:
        try:
            output = self._embed(batch)
        except MemoryError:
            raise
        except Exception as error:  # the module's own failure: name it, keep mdrbench's state
            if _is_out_of_memory(error):
                raise MemoryError(str(error)) from error
            raise self._problem(f"failed on a batch of {batch.shape[0]} x {batch.shape[1]} samples with "
                                f"{type(error).__name__}: {_first_line(error)}",
                                self._fix or "run the module on such a batch yourself and correct it") from error
        return self._check_output(output, len(batch))

    def _check_output(self, output, n: int) -> np.ndarray:
        import torch

        if isinstance(output, torch.Tensor):
            if output.dtype != torch.float32:
                raise self._problem(f"returned a {output.dtype} tensor", "return float32 embeddings "
                                    "(HEAR requires them), e.g. `.float()`")
            output = output.detach().cpu().numpy()
        elif isinstance(output, np.ndarray):
            if output.dtype != np.float32:
                raise self._problem(f"returned {output.dtype} values", "return float32 embeddings, e.g. "
                                    "`.astype(np.float32)`")
        else:
            raise self._problem(f"returned a {type(output).__name__}, not a tensor", "return a float32 torch "
                                "tensor (or numpy array) of shape (n_sounds, embedding_size)")
        if output.ndim != 2:
            raise self._problem(f"returned shape {tuple(output.shape)}; expected (n_sounds, embedding_size)",
                                "return one row per input sound (a scene embedding), e.g. a mean over time")
        if output.shape[0] != n:
            raise self._problem(f"returned {output.shape[0]} rows for a batch of {n} sounds",
                                "return exactly one embedding per input sound, in order")
        if self.embedding_size is None:
            self.embedding_size = int(output.shape[1])
        elif output.shape[1] != self.embedding_size:
            raise self._problem(f"returned {output.shape[1]} dimensions but declares {self.embedding_size}",
                                "make scene_embedding_size match what get_scene_embeddings returns")
        if not np.isfinite(output).all():
            bad = int((~np.isfinite(output)).any(axis=1).sum())
            raise self._problem(f"returned NaN or infinite values for {bad} of {n} sounds",
                                "guard the logs and divisions of the model (e.g. log(x + eps))")
        return output


def _is_out_of_memory(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------- HEAR
def import_module(name_or_file: str | Path):
    """Import a module by name (``hearbaseline.naive``) or from a ``.py`` file; PluginError when it fails."""
    text = str(name_or_file)
    if text.endswith(".py") or Path(text).is_file():
        path = Path(text).expanduser()
        if not path.is_file():
            raise PluginError(f"{text}: no such file. Fix: give the path of the module's .py file, or an "
                              f"importable module name such as hearbaseline.naive.")
        module_name = FILE_MODULE_PREFIX + re.sub(r"\W", "_", path.stem) + "_" + hashlib.sha256(
            str(path.resolve()).encode()).hexdigest()[:8]
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # so that dataclasses and pickling inside the module find it
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            sys.modules.pop(module_name, None)
            raise PluginError(f"{text}: importing it raised {type(error).__name__}: {_first_line(error)}. Fix: "
                              f"run `python {text}` and correct the error (or install what it imports).") from error
        return module
    try:
        return importlib.import_module(text)
    except ModuleNotFoundError as error:
        if error.name and text.startswith(error.name):
            raise PluginError(f"{text}: no module of that name is installed. Fix: pip install the package "
                              f"that provides it, or give the path of a .py file.") from error
        raise PluginError(f"{text}: importing it failed, it needs {error.name!r}, which is not installed. "
                          f"Fix: pip install the package that provides {error.name!r}.") from error
    except Exception as error:
        raise PluginError(f"{text}: importing it raised {type(error).__name__}: {_first_line(error)}. Fix: "
                          f"`python -c 'import {text}'` shows the error; correct it.") from error


def _module_identity(module, model_file: str | None) -> tuple[str | None, dict]:
    """A hash of what a HEAR module's embeddings depend on: its source file, its package's version, the
    weights file; None when the module has no file on disk."""
    source = getattr(module, "__file__", None)
    package = (getattr(module, "__package__", None) or module.__name__).split(".")[0]
    try:
        from importlib.metadata import version

        package_version = version(package)
    except Exception:
        package_version = None
    from_file = module.__name__.startswith(FILE_MODULE_PREFIX)  # imported from a path: name it by the path
    info = {"module": str(source) if from_file else module.__name__, "module_file": source,
            "package_version": None if from_file else package_version, "model_file": model_file or None}
    if source is None or not Path(source).is_file():
        return None, info
    parts = {"source": _sha256_file(source), "version": package_version,
             "weights": _sha256_file(model_file) if model_file else None}
    info["weights_sha256"] = parts["weights"]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest(), info


def load_hear_module(name_or_file: str | Path, model_file: str | Path | None = None, device: str = "cpu"
                     ) -> AudioModel:
    """Import a HEAR 2021 module, load its model and check it against the API.

    Args:
        name_or_file: an importable module name (``hearbaseline.naive``) or a path to a ``.py`` file.
        model_file: the weights file handed to ``load_model`` (None: ``""``, the module's default).
        device: where the model runs ("cpu", "cuda").

    Returns an :class:`AudioModel` whose embeddings are ``get_scene_embeddings`` of the model.
    Raises :class:`PluginError` when a function is missing, the import or ``load_model`` fails, or the model
    lacks the required attributes or declares a rate outside :data:`HEAR_SAMPLE_RATES`.
    """
    import torch

    label = str(name_or_file)
    if model_file is not None and not Path(model_file).is_file():
        raise PluginError(f"{label}: the weights file {model_file} does not exist. Fix: give the path of the "
                          f"file its load_model reads, or leave --model-file out for its default weights.")
    module = import_module(name_or_file)
    missing = [name for name in HEAR_FUNCTIONS if not callable(getattr(module, name, None))]
    if missing:
        raise PluginError(f"{label}: no {', '.join(missing)} function. Fix: a HEAR module defines "
                          f"{', '.join(HEAR_FUNCTIONS)} (see https://hearbenchmark.com/hear-api.html).")
    try:
        model = module.load_model(str(model_file) if model_file is not None else "")
    except Exception as error:
        raise PluginError(f"{label}: load_model raised {type(error).__name__}: {_first_line(error)}. Fix: call "
                          f"{module.__name__}.load_model() yourself and correct the error (an old module may "
                          f"need the library versions it was written for).") from error
    for attribute in ("sample_rate", "scene_embedding_size", "timestamp_embedding_size"):
        if not hasattr(model, attribute):
            raise PluginError(f"{label}: the model load_model returned has no {attribute}. Fix: set it on the "
                              f"model, as the HEAR API requires.")
    rate = model.sample_rate
    if isinstance(rate, bool) or not isinstance(rate, int | np.integer) or int(rate) not in HEAR_SAMPLE_RATES:
        raise PluginError(f"{label}: sample_rate {rate!r} is not one mdrbench can feed. Fix: declare one of "
                          f"{', '.join(map(str, HEAR_SAMPLE_RATES))} Hz (HEAR's rates; the audio is resampled "
                          f"to it).")
    size = model.scene_embedding_size
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise PluginError(f"{label}: scene_embedding_size {size!r} is not a positive integer. Fix: declare the "
                          f"width of what get_scene_embeddings returns.")
    if isinstance(model, torch.nn.Module):
        model = model.to(device).eval()

    def embed(batch: np.ndarray):
        with torch.inference_mode():
            return module.get_scene_embeddings(torch.from_numpy(batch).to(device), model)

    identity, info = _module_identity(module, None if model_file is None else str(model_file))
    info |= {"kind": "hear", "sample_rate": int(rate), "scene_embedding_size": int(size)}
    return AudioModel(_short_name(label), int(rate), embed, int(size), identity, info,
                      fix=f"call {module.__name__}.get_scene_embeddings on such a batch yourself and correct it")


def _short_name(label: str) -> str:
    """The row name of a module: its file's stem, or the last part of its dotted name."""
    return Path(label).stem if label.endswith(".py") else label.rsplit(".", 1)[-1]


def function_model(embed: Callable[[np.ndarray], np.ndarray], sample_rate: int, name: str | None = None,
                   embedding_size: int | None = None) -> AudioModel:
    """A plain function as a model (for notebooks): ``embed((n, samples) float32) -> (n, D)`` at ``sample_rate``.

    Any rate is accepted (the audio is resampled to it). Its embeddings are cached when its source code can be
    read (a change of code is a new cache); a lambda or a function without source is never cached.
    """
    if not callable(embed):
        raise PluginError(f"{embed!r} is not callable. Fix: pass a function of a (n, samples) float32 batch.")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise PluginError(f"sample_rate must be a positive whole number of Hz, got {sample_rate!r}.")
    name = name or getattr(embed, "__name__", "function")
    try:
        source = inspect.getsource(embed)
    except (OSError, TypeError):
        source = None
    identity = None if source is None or name == "<lambda>" else hashlib.sha256(source.encode()).hexdigest()
    info = {"kind": "function", "module": name, "sample_rate": int(sample_rate)}
    return AudioModel(name, int(sample_rate), embed, embedding_size, identity, info)


# --------------------------------------------------------------------------------------------- the cache
class EmbeddingCache:
    """Excerpt embeddings of one (model, weights, corpus, window) on disk, keyed by (track, start frame).

    The file (``.npz``, no pickle) holds the pairs, the embeddings and a JSON description of what they depend
    on; a file whose description differs, whose arrays do not fit together or hold non-finite values is set
    aside with a warning and recomputed, never used.
    """

    def __init__(self, path: Path | None, description: dict):
        self.path, self.description = path, description
        self.pairs: dict[tuple[int, int], int] = {}
        self.rows: list[np.ndarray] = []
        if path is not None and path.exists():
            self._read()

    def _read(self) -> None:
        try:
            with np.load(self.path, allow_pickle=False) as stored:
                description = json.loads(str(stored["description"]))
                pairs, embeddings = stored["pairs"], stored["embeddings"]
            if description != self.description:
                raise ValueError("it was made for another module, weights, corpus or window")
            if pairs.ndim != 2 or pairs.shape[1] != 2 or embeddings.ndim != 2 or len(pairs) != len(embeddings):
                raise ValueError("its arrays do not fit together")
            if not np.isfinite(embeddings).all():
                raise ValueError("it holds non-finite values")
        except Exception as error:
            warnings.warn(f"embedding cache {self.path} is not used ({error}); it is recomputed.", stacklevel=3)
            return
        self.rows = list(embeddings.astype(np.float32))
        self.pairs = {(int(t), int(s)): i for i, (t, s) in enumerate(pairs)}

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, tracks, starts) -> tuple[np.ndarray, np.ndarray]:
        """(found (n,) bool, rows (n,) int, -1 where missing)."""
        rows = np.array([self.pairs.get((int(t), int(s)), -1) for t, s in zip(tracks, starts, strict=True)],
                        dtype=np.int64)
        return rows >= 0, rows

    def add(self, tracks, starts, embeddings: np.ndarray) -> None:
        for t, s, row in zip(tracks, starts, embeddings, strict=True):
            key = (int(t), int(s))
            if key not in self.pairs:
                self.pairs[key] = len(self.rows)
                self.rows.append(np.asarray(row, dtype=np.float32))

    def embeddings(self, rows: np.ndarray) -> np.ndarray:
        return np.stack([self.rows[i] for i in rows]) if len(rows) else np.zeros((0, 0), dtype=np.float32)

    def save(self) -> None:
        if self.path is None or not self.rows:
            return
        from mdrbench.results import atomic_save_npz

        pairs = np.zeros((len(self.rows), 2), dtype=np.int64)
        for (t, s), i in self.pairs.items():
            pairs[i] = (t, s)
        atomic_save_npz(self.path, {"pairs": pairs, "embeddings": np.stack(self.rows).astype(np.float32),
                                    "description": np.array(json.dumps(self.description, sort_keys=True))})


def cache_path(model: AudioModel, description: dict) -> Path | None:
    """Where a model's excerpt embeddings on one corpus are cached ($MDRBENCH_HOME/embeddings), or None."""
    from mdrbench.paths import home

    if model.identity is None:
        return None
    key = hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:16]
    return home() / "embeddings" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', model.name)}-{key}.npz"


# ------------------------------------------------------------------------------------------ the embedder
class AudioExcerptEmbedder:
    """An :class:`AudioModel` seen through the evaluation's embedder interface (:mod:`mdrbench.evaluate`).

    ``excerpts(features, tracks, starts)`` gives the model the audio under each excerpt's log-mel frames
    (``features.settings.excerpt_seconds`` from second ``window_starts[track] + start * hop / rate``), down-mixed
    and resampled with soxr to the model's rate, zero-padded where a track is shorter. A track's embedding is
    the mean of its fixed excerpts' embeddings, as for the native models.

    Args:
        model: the external model.
        corpus: the corpus whose audio the features were computed from.
        features: its :class:`~mdrbench.features.FeatureStore` (gives the excerpts' places in the audio).
        batch_size: excerpts per model call.
        cache: keep excerpt embeddings on disk (:class:`EmbeddingCache`).
        progress: a tqdm bar while embedding.
        save_every: excerpts embedded between two saves of the cache (what a failure can cost).
    """

    normalize, disentangled, has_head, tag_scoring = False, False, False, "logistic"

    def __init__(self, model: AudioModel, corpus, features, batch_size: int = DEFAULT_BATCH_SIZE,
                 cache: bool = True, progress: bool = False, save_every: int = 256):
        self.model, self.corpus, self.name = model, corpus, model.name
        self.batch_size, self.progress, self.save_every = batch_size, progress, max(1, int(save_every))
        settings = features.settings
        self.description = {
            "version": CACHE_VERSION, "model": model.identity, "model_rate": model.sample_rate,
            "corpus": corpus.fingerprint(), "excerpt_seconds": settings.excerpt_seconds,
            "frame_rate": [settings.sample_rate, settings.hop_length],
            "window_starts": hashlib.sha256(np.round(features.window_starts, 6).tobytes()).hexdigest()}
        self.cache = EmbeddingCache(cache_path(model, self.description) if cache else None, self.description)
        self.embedded_excerpts = 0  # excerpts this embedder sent to the model (not served from the cache)
        self.embedding_seconds = 0.0  # time inside the model's calls
        self.audio_seconds = 0.0  # time reading and resampling audio

    @property
    def corpus_sample_rate(self) -> int:
        return int(self.corpus.sample_rate)

    def excerpt_audio(self, features, tracks, starts) -> np.ndarray:
        """(n, samples) float32 at the model's rate: the audio of each excerpt."""
        settings = features.settings
        rate = self.model.sample_rate
        length = int(round(settings.excerpt_seconds * rate))
        batch = np.zeros((len(tracks), length), dtype=np.float32)
        for row, (track, start) in enumerate(zip(tracks, starts, strict=True)):
            offset = float(features.window_starts[int(track)]) + int(start) * settings.hop_length / settings.sample_rate
            audio = self.corpus.audio(int(track), sample_rate=rate, max_seconds=settings.excerpt_seconds,
                                      offset=offset)[:length]
            batch[row, :len(audio)] = audio
        return batch

    def excerpts(self, features, tracks, starts):
        """(n,) tracks and start frames -> ((n, D) embeddings, None): no tag head."""
        import time

        tracks, starts = np.asarray(tracks, dtype=np.int64), np.asarray(starts, dtype=np.int64)
        found, _ = self.cache.get(tracks, starts)
        missing = np.flatnonzero(~found)
        if len(missing):
            unique = np.unique(np.stack([tracks[missing], starts[missing]], axis=1), axis=0)
            chunk = self.save_every  # the cache is saved after every chunk: an interrupted pass resumes
            bar = _progress(len(unique), f"embedding with {self.name}") if self.progress else None
            for first in range(0, len(unique), chunk):
                part = unique[first:first + chunk]
                began = time.perf_counter()
                audio = self.excerpt_audio(features, part[:, 0], part[:, 1])
                middle = time.perf_counter()
                embedded = self.model.embed(audio, self.batch_size)
                self.audio_seconds += middle - began
                self.embedding_seconds += time.perf_counter() - middle
                self.embedded_excerpts += len(part)
                self.cache.add(part[:, 0], part[:, 1], embedded)
                self.cache.save()
                if bar is not None:
                    bar.update(len(part))
            if bar is not None:
                bar.close()
        _, rows = self.cache.get(tracks, starts)
        return self.cache.embeddings(rows), None

    def tracks(self, features, tracks):
        return None  # the mean of the fixed excerpts


def _progress(total: int, description: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="excerpt")
