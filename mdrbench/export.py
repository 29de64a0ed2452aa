"""The other way out: a trained mdrbench run as a HEAR 2021 module (``mdrbench export-hear``).

:func:`export_hear` writes, into one folder, ``NAME.py`` (the module: ``load_model``, ``get_scene_embeddings``,
``get_timestamp_embeddings``) and ``NAME.keras`` (the run's model, its front-end settings recorded in the
module), so that hear-eval-kit, or ``mdrbench score``, can load it by path or, with the folder on
``sys.path``, by name.

Importing the module pulls in mdrbench (and with it torch, keras and numpy): the model is mdrbench's Keras
model on the torch backend with its log-mel front-end as a layer, so the exported module computes exactly
what the run computes from audio, and nothing is re-implemented. TensorFlow is never imported.

What the module does with a clip (float32 ``[n, samples]`` at the run's rate, 16 kHz for the compact
front-end):

- a clip shorter than the run's excerpt (3 s) is zero-padded at the end (the HEAR validator sends 1-4 s clips;
  zero audio is what the native path's silence padding is, in log-mel);
- a scene embedding is the mean of the embeddings of non-overlapping 3-s windows (the last one aligned to the
  clip's end), L2-normalized again when the run normalizes, as the benchmark forms a track's embedding from its
  excerpts; a clip of exactly one excerpt gets the run's own excerpt embedding;
- timestamp embeddings are 3-s windows centred every ``TIMESTAMP_HOP_MS`` milliseconds from 0 to the clip's
  end (the clip zero-padded by half a window on each side), each stamped at its centre.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from mdrbench.errors import MdrbenchError

TIMESTAMP_HOP_MS = 250.0

MODULE_TEMPLATE = '''"""HEAR 2021 module of the mdrbench run {config} (seed {seed}).

Exported by `mdrbench export-hear` from {run_dir}. Its weights are {weights_name} beside this file.
Importing it pulls in mdrbench (torch, keras, numpy); see mdrbench.export for what it does with a clip.
"""

import json
from pathlib import Path

import torch

FRONTEND = json.loads({frontend!r})
WEIGHTS = Path(__file__).with_name({weights_name!r})
TIMESTAMP_HOP_MS = {hop_ms!r}


class ExportedRun(torch.nn.Module):
    """The run's Keras model with its log-mel front-end, as a torch module (Keras 3 layers are torch modules)."""

    def __init__(self, path):
        super().__init__()
        import mdrbench
        from mdrbench.features import FrontendSettings
        from mdrbench.models import with_frontend

        settings = FrontendSettings.from_dict(FRONTEND)
        model = mdrbench.load_model(path)
        self.normalize = bool(model.config.normalize)
        self.audio_model = with_frontend(model, settings)
        self.sample_rate = int(settings.sample_rate)
        self.window = int(settings.excerpt_samples)
        self.scene_embedding_size = self.timestamp_embedding_size = int(model.config.embedding_dim)

    def forward(self, windows):
        """(m, window) float32 audio -> (m, D) embeddings."""
        return self.audio_model(windows, training=False)


def load_model(model_file_path=""):
    return ExportedRun(model_file_path or WEIGHTS).eval()


def _padded(audio, model):
    if audio.ndim != 2:
        raise ValueError(f"audio must be (n_sounds, n_samples), got shape {{tuple(audio.shape)}}")
    audio = audio.float()
    if audio.shape[1] < model.window:
        audio = torch.nn.functional.pad(audio, (0, model.window - audio.shape[1]))
    return audio


def _windows(audio, model, starts):
    """(n, len(starts), D): the embedding of the window at each start of every clip."""
    n = audio.shape[0]
    windows = torch.stack([audio[:, s:s + model.window] for s in starts], dim=1).reshape(-1, model.window)
    with torch.inference_mode():
        embeddings = torch.cat([model(windows[i:i + 64]) for i in range(0, len(windows), 64)])
    return embeddings.reshape(n, len(starts), -1).float()


def get_scene_embeddings(audio, model):
    audio = _padded(audio, model)
    last = audio.shape[1] - model.window
    starts = sorted(set(list(range(0, last + 1, model.window)) + [last]))
    embeddings = _windows(audio, model, starts).mean(dim=1)
    if model.normalize:
        embeddings = torch.nn.functional.normalize(embeddings, dim=1, eps=1e-12)
    return embeddings


def get_timestamp_embeddings(audio, model):
    length = audio.shape[1]
    half = model.window // 2
    padded = torch.nn.functional.pad(_padded(audio, model), (half, model.window - half))
    hop = TIMESTAMP_HOP_MS / 1000.0 * model.sample_rate  # not rounded: rounding drifts over long audio
    count = int(length // hop) + 1
    starts = [int(round(k * hop)) for k in range(count)]  # the window of timestamp k is centred on k * hop
    embeddings = _windows(padded, model, starts)
    timestamps = torch.arange(count, dtype=torch.float32) * TIMESTAMP_HOP_MS
    return embeddings, timestamps.expand(audio.shape[0], -1)
'''


class ExportError(MdrbenchError, ValueError):
    """A run folder cannot be exported (the message names what is missing and the fix)."""


def module_name(config: str, seed: int) -> str:
    """A valid Python module name for a run, e.g. ``mdrbench_triplet_norm_dis_seed0``."""
    return "mdrbench_" + re.sub(r"\W", "_", config) + f"_seed{int(seed)}"


def export_hear(run_dir: str | Path, out_dir: str | Path) -> Path:
    """Write a HEAR module for a trained run: ``out_dir/NAME.py`` and ``out_dir/NAME.keras``.

    Args:
        run_dir: a run folder with ``model.keras`` and ``config.json`` (``mdrbench train``/``bench``, or a
            seed-0 run of the reference results).
        out_dir: the folder to write (created; files of the same name are replaced).

    Returns the module's path; load it with ``mdrbench score --hear-module PATH`` or
    :func:`mdrbench.plugins.load_hear_module`.
    """
    from mdrbench.search import run_frontend

    run_dir = Path(run_dir)
    model_path = run_dir / "model.keras"
    if not model_path.is_file():
        raise ExportError(f"{model_path} not found: export-hear needs a run folder with its model (written by "
                          f"`mdrbench train --out` or `mdrbench bench`; the reference results keep seed 0's).")
    config_path = run_dir / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ExportError(f"{config_path} is missing or not JSON ({error}). Fix: point at a whole run "
                          f"folder.") from None
    frontend = run_frontend(run_dir)
    if frontend is None:
        raise ExportError(f"{config_path} records no front-end settings. Fix: retrain the run with this mdrbench.")
    described = config.get("config") if isinstance(config.get("config"), dict) else {}
    name = described.get("name") or run_dir.parent.name
    history = run_dir / "history.json"
    recorded = json.loads(history.read_text()).get("seed") if history.is_file() else None
    seed = int(recorded if recorded is not None else (re.sub(r"\D", "", run_dir.name) or 0))
    stem = module_name(str(name), seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_path, out_dir / f"{stem}.keras")
    source = MODULE_TEMPLATE.format(config=name, seed=seed, run_dir=run_dir, weights_name=f"{stem}.keras",
                                    frontend=json.dumps(frontend.to_dict()), hop_ms=TIMESTAMP_HOP_MS)
    path = out_dir / f"{stem}.py"
    path.write_text(source)
    return path
