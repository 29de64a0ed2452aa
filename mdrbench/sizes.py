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
    """A corpus size and the training budget that goes with it.

    The schedule is the paper's (Adam, lr / 5 after ``patience`` stalled epochs, at most
    ``max_lr_reductions`` times, then stop at the next stall), scaled to the size: the paper's 10 epochs of
    patience and 5 reductions need at least 60 stalled epochs after the best one, which no CPU budget affords.
    ``max_epochs`` is a safety cap only: a run that reaches it is reported as not converged.
    ``steps_per_epoch`` None means one anchor excerpt per training track per epoch, for every objective.
    """

    name: str
    # corpus
    n_tracks: int
    min_duration: float
    max_duration: float
    sample_rate: int
    # front-end preset name in mdrbench.features.FRONTENDS
    frontend: str
    # training budget (read by mdrbench.train)
    batch_size: int
    max_epochs: int
    patience: int
    max_lr_reductions: int
    backbone: str
    steps_per_epoch: int | None = None
    min_delta: float = 1e-3  # relative improvement that counts as one (see mdrbench.train.PaperSchedule)
    seeds: int = 3  # seeds the benchmark runs by default
    # (train, valid, test) track counts; None: 70/10/20 of n_tracks. The default size adds test tracks on top of
    # the training ones: a test track costs seconds to render and score, a seed costs a training run, and with
    # 400 test tracks the query noise was as large as the seed noise (docs/statistics.md, issue 14).
    split_counts: tuple[int, int, int] | None = None


SIZES: dict[str, Size] = {
    "ci": Size("ci", n_tracks=240, min_duration=10.0, max_duration=12.0, sample_rate=16000,
               frontend="compact", batch_size=32, max_epochs=30, patience=1, max_lr_reductions=1,
               backbone="compact", seeds=2),
    "default": Size("default", n_tracks=3200, min_duration=10.0, max_duration=20.0, sample_rate=16000,
                    frontend="compact", batch_size=64, max_epochs=80, patience=2, max_lr_reductions=2,
                    backbone="compact", seeds=3, split_counts=(1400, 200, 1600)),
    "full": Size("full", n_tracks=30000, min_duration=10.0, max_duration=30.0, sample_rate=22050,
                 frontend="paper", batch_size=256, max_epochs=200, patience=10, max_lr_reductions=5,
                 backbone="inception", seeds=3),
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


def split_counts(size: Size, n_tracks: int | None = None) -> tuple[int, int, int]:
    """(train, valid, test) track counts of a corpus of this size with ``n_tracks`` tracks (default the size's):
    the size's own counts when they add up to it, else 70/10/20."""
    n_tracks = int(n_tracks or size.n_tracks)
    if size.split_counts is not None and sum(size.split_counts) == n_tracks:
        return tuple(int(c) for c in size.split_counts)
    n_train, n_valid = int(round(0.7 * n_tracks)), int(round(0.1 * n_tracks))
    return n_train, n_valid, n_tracks - n_train - n_valid
