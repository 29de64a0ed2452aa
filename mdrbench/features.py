"""Log-mel front-end, the per-corpus feature cache, and excerpt sampling.

(Skeleton: FrontendSettings and FeatureStore are the shared contract; the Keras layer, the cache and the
samplers are filled in by the features work.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class FrontendSettings:
    """Log-mel settings. ``compact`` is the CPU default; ``paper`` is the ISMIR 2020 setting."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 64
    f_min: float = 0.0
    f_max: float | None = None
    excerpt_seconds: float = 3.0
    # log10(1 + 10 S), then (x - mean) / std with fixed statistics, as in the paper
    log_scale: float = 10.0
    mean: float = 0.2
    std: float = 0.25

    @property
    def excerpt_frames(self) -> int:
        """Frames in one excerpt (centered STFT framing: 1 + samples // hop)."""
        return 1 + int(round(self.excerpt_seconds * self.sample_rate)) // self.hop_length

    @property
    def excerpt_samples(self) -> int:
        return int(round(self.excerpt_seconds * self.sample_rate))

    def to_dict(self) -> dict:
        return asdict(self)


FRONTENDS: dict[str, FrontendSettings] = {
    "compact": FrontendSettings(),
    "paper": FrontendSettings(sample_rate=22050, n_fft=2048, hop_length=512, n_mels=128),
}


class FeatureStore:
    """Log-mel features of every track of a corpus, concatenated along time.

    Args:
        values: (total_frames, n_mels) float16 or float32, tracks one after another (may be a memmap).
        offsets: (n_tracks + 1,) int64, track i spans values[offsets[i]:offsets[i+1]].
        settings: the front-end settings that produced the values.
    """

    def __init__(self, values: np.ndarray, offsets: np.ndarray, settings: FrontendSettings):
        self.values = values
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.settings = settings

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """Frames per track, shape (n_tracks,)."""
        return np.diff(self.offsets)

    def track(self, index: int) -> np.ndarray:
        """Whole-track log-mel, shape (n_mels, n_frames) float32."""
        return np.asarray(self.values[self.offsets[index]:self.offsets[index + 1]], dtype=np.float32).T

    def excerpt(self, index: int, start: int, n_frames: int) -> np.ndarray:
        """An excerpt of ``n_frames`` frames from frame ``start``, shape (n_mels, n_frames) float32."""
        begin = self.offsets[index] + start
        if start < 0 or begin + n_frames > self.offsets[index + 1]:
            raise IndexError(f"excerpt [{start}, {start + n_frames}) outside track {index} "
                             f"of {self.lengths[index]} frames")
        return np.asarray(self.values[begin:begin + n_frames], dtype=np.float32).T
