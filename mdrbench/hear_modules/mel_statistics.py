"""The mel-statistics baseline as a HEAR 2021 module: per-band log-mel mean and standard deviation (128-d).

Unlike mdrbench's native ``mel-statistics`` baseline it cannot standardize with the training tracks'
statistics (a HEAR module sees audio only), and it summarizes each 3-s excerpt rather than the whole track.
"""

from __future__ import annotations

import torch

from mdrbench.hear_modules._frames import SAMPLE_RATE, frame_timestamps, log_mel_frames

N_MELS = 64


class MelStatistics(torch.nn.Module):
    sample_rate = SAMPLE_RATE
    scene_embedding_size = 2 * N_MELS
    timestamp_embedding_size = N_MELS

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        frames = log_mel_frames(audio)
        return torch.cat([frames.mean(dim=1), frames.std(dim=1)], dim=1)


def load_model(model_file_path: str = "") -> torch.nn.Module:
    """No weights: ``model_file_path`` is ignored."""
    return MelStatistics()


def get_scene_embeddings(audio: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model(audio)


def get_timestamp_embeddings(audio: torch.Tensor, model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """The log-mel frames themselves, at the front-end's hop (32 ms)."""
    with torch.no_grad():
        frames = log_mel_frames(audio)
    return frames, frame_timestamps(frames.shape[0], frames.shape[1])
