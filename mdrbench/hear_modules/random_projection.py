"""Random features as a HEAR 2021 module: each log-mel frame through a fixed random ReLU layer (64 -> 512),
averaged over time. The projection is drawn from a fixed seed, so the module is deterministic; it measures
what width and a non-linearity give without any training (compare hearbaseline's ``naive``, a linear one)."""

from __future__ import annotations

import numpy as np
import torch

from mdrbench.hear_modules._frames import SAMPLE_RATE, frame_timestamps, log_mel_frames

N_MELS, WIDTH, SEED = 64, 512, 0


class RandomProjection(torch.nn.Module):
    sample_rate = SAMPLE_RATE
    scene_embedding_size = WIDTH
    timestamp_embedding_size = WIDTH

    def __init__(self, weights: np.ndarray | None = None):
        super().__init__()
        if weights is None:
            weights = np.random.default_rng(SEED).standard_normal((N_MELS, WIDTH)) / np.sqrt(N_MELS)
        self.register_buffer("weights", torch.as_tensor(np.asarray(weights, dtype=np.float32)))

    def frames(self, audio: torch.Tensor) -> torch.Tensor:
        return torch.relu(log_mel_frames(audio) @ self.weights)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.frames(audio).mean(dim=1)


def load_model(model_file_path: str = "") -> torch.nn.Module:
    """``model_file_path``: optionally a (64, 512) float ``.npy`` projection (read without pickle)."""
    if model_file_path:
        return RandomProjection(np.load(model_file_path, allow_pickle=False))
    return RandomProjection()


def get_scene_embeddings(audio: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model(audio)


def get_timestamp_embeddings(audio: torch.Tensor, model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        frames = model.frames(audio)
    return frames, frame_timestamps(frames.shape[0], frames.shape[1])
