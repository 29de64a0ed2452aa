"""What the shipped modules share: the compact log-mel of a batch and its frame timestamps (milliseconds)."""

from __future__ import annotations

import torch

SAMPLE_RATE = 16000


def log_mel_frames(audio: torch.Tensor) -> torch.Tensor:
    """(n, samples) float32 at 16 kHz -> (n, frames, 64) normalized log-mel (mdrbench's compact front-end)."""
    from mdrbench.features import FRONTENDS, _log_mel_torch

    if audio.ndim != 2:
        raise ValueError(f"audio must be (n_sounds, n_samples), got shape {tuple(audio.shape)}")
    return _log_mel_torch(audio.float(), FRONTENDS["compact"]).transpose(1, 2)


def frame_timestamps(n_sounds: int, n_frames: int) -> torch.Tensor:
    """(n_sounds, n_frames) centre of each frame in milliseconds (centred STFT framing)."""
    from mdrbench.features import FRONTENDS

    hop = FRONTENDS["compact"].hop_length
    return (torch.arange(n_frames, dtype=torch.float32) * hop / SAMPLE_RATE * 1000.0).expand(n_sounds, -1)
