"""Fixed, disjoint sub-space masks over one embedding: one block of dimensions per category.

The paper splits a 256-d embedding into four 64-d blocks (genre, mood, instrument, era); learned masks
(Conditional Similarity Networks) gave no gain, so the masks are fixed.
"""

from __future__ import annotations

import numpy as np

from mdrbench.corpus import CATEGORIES


def subspace_slices(embedding_dim: int = 256, categories: tuple[str, ...] = CATEGORIES) -> dict[str, slice]:
    """Contiguous equal blocks, e.g. 256 dims -> genre 0:64, mood 64:128, instrument 128:192, era 192:256."""
    if embedding_dim % len(categories):
        raise ValueError(f"embedding_dim {embedding_dim} must be divisible by the {len(categories)} categories "
                         f"so that every sub-space gets the same number of dimensions.")
    width = embedding_dim // len(categories)
    return {c: slice(i * width, (i + 1) * width) for i, c in enumerate(categories)}


def subspace_masks(embedding_dim: int = 256, categories: tuple[str, ...] = CATEGORIES) -> np.ndarray:
    """0/1 masks of shape (n_categories, embedding_dim), rows in the order of ``categories``."""
    masks = np.zeros((len(categories), embedding_dim), dtype=np.float32)
    for row, block in enumerate(subspace_slices(embedding_dim, categories).values()):
        masks[row, block] = 1.0
    return masks
