"""Named sizes: one switch (``--size`` or ``MDRBENCH_SIZE``) picks the corpus and the training budget.

- ``ci``: small enough that every notebook trains in seconds on 2 CPU cores.
- ``default``: a laptop-sized benchmark (minutes per model on 2 CPU cores).
- ``full``: GPU-sized, tens of thousands of tracks, the paper's front-end settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

SIZE_ENV = "MDRBENCH_SIZE"


@dataclass(frozen=True)
class Size:
    name: str
    # corpus
    n_tracks: int
    min_duration: float
    max_duration: float
    sample_rate: int
    # front-end preset name in mdrbench.features.FRONTENDS
    frontend: str
    # training budget (read by mdrbench.train; the paper's schedule is scaled to these)
    batch_size: int
    max_epochs: int
    steps_per_epoch: int
    patience: int
    backbone: str


SIZES: dict[str, Size] = {
    "ci": Size("ci", n_tracks=240, min_duration=10.0, max_duration=12.0, sample_rate=16000,
               frontend="compact", batch_size=32, max_epochs=6, steps_per_epoch=16, patience=2,
               backbone="compact"),
    "default": Size("default", n_tracks=2000, min_duration=10.0, max_duration=20.0, sample_rate=16000,
                    frontend="compact", batch_size=64, max_epochs=12, steps_per_epoch=24, patience=3,
                    backbone="compact"),
    "full": Size("full", n_tracks=30000, min_duration=10.0, max_duration=30.0, sample_rate=22050,
                 frontend="paper", batch_size=256, max_epochs=200, steps_per_epoch=400, patience=10,
                 backbone="inception"),
}


def get_size(name: str | None = None) -> Size:
    """The size named (or ``$MDRBENCH_SIZE``, or ``default``)."""
    name = name or os.environ.get(SIZE_ENV) or "default"
    if name not in SIZES:
        raise KeyError(f"unknown size {name!r}; choose one of {list(SIZES)} "
                       f"(argument --size or environment variable {SIZE_ENV}).")
    return SIZES[name]


def with_overrides(size: Size, **changes) -> Size:
    return replace(size, **{k: v for k, v in changes.items() if v is not None})
