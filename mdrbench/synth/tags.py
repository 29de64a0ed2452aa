"""Noisy, Last.fm-like tags from clean factors.

The vocabulary holds every factor value plus a few near-synonyms, each tag in its factor's category::

    genre       rock pop jazz electronic hip-hop folk classical metal reggae blues
                + electronica (electronic), hip hop (hip-hop), heavy metal (metal)
    mood        happy sad calm energetic dark romantic
                + chill (calm), mellow (calm)
    instrument  piano guitar strings synth lead organ brass flute female vocalists male vocalists
                + female vocalist (female vocalists)
    era         60s 70s 80s 90s 00s

Observed tags, per track (rates also stored in ``corpus.info["generator"]["tags"]``):

- the track's true factor tag is kept with that tag's keep rate (missing at random, as on Last.fm where an
  absent tag means "nobody bothered", not "no"). Keep rates are spread evenly over 0.40..0.90 across each
  category's tags in a fixed shuffled order (:func:`keep_rates`), so tag frequencies are uneven;
- each synonym of the true value appears with probability ``SYNONYM_RATE`` = 0.35, independently of
  whether the canonical tag was kept (people spell it either way);
- every other tag appears with probability ``FALSE_POSITIVE_RATE`` = 0.01;
- a track left without any tag gets the canonical tag of one of its factors chosen at random (every
  Last.fm track of MSD-50 has at least one tag).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mdrbench.corpus import TagVocabulary
from mdrbench.synth.factors import FACTORS, STREAM_TAGS

SYNONYMS: dict[str, str] = {"electronica": "electronic", "hip hop": "hip-hop", "heavy metal": "metal",
                            "chill": "calm", "mellow": "calm", "female vocalist": "female vocalists"}
KEEP_RATE_RANGE = (0.4, 0.9)
SYNONYM_RATE = 0.35
FALSE_POSITIVE_RATE = 0.01


def synth_vocabulary() -> TagVocabulary:
    """Factor values then synonyms, grouped by category (genre, mood, instrument, era)."""
    pairs = []
    for category, values in FACTORS.items():
        pairs += [(value, category) for value in values]
        pairs += [(synonym, category) for synonym, value in SYNONYMS.items() if value in values]
    return TagVocabulary.from_pairs(pairs)


def keep_rates() -> dict[str, float]:
    """Probability that a true factor tag is observed, per canonical tag (fixed, not seeded by the corpus)."""
    rates = {}
    for position, values in enumerate(FACTORS.values()):
        order = np.random.default_rng(position).permutation(len(values))
        spread = np.linspace(*KEEP_RATE_RANGE, len(values))
        rates.update({values[i]: round(float(spread[rank]), 3) for rank, i in enumerate(order)})
    return rates


def tag_settings() -> dict:
    """Everything that decides the observed tags, for corpus.info["generator"]."""
    return {"keep_rates": keep_rates(), "synonyms": dict(SYNONYMS), "synonym_rate": SYNONYM_RATE,
            "false_positive_rate": FALSE_POSITIVE_RATE, "at_least_one_tag": True}


def draw_tags(factors: pd.DataFrame, seed: int = 0) -> tuple[TagVocabulary, np.ndarray]:
    """Observed noisy tags of tracks with the given clean factors.

    Args:
        factors: DataFrame with columns genre, mood, instrument, era (e.g. from :func:`draw_factors`).
        seed: the corpus seed (tags use their own random stream).

    Returns:
        (vocabulary, tags) with tags of shape (n_tracks, n_tags) uint8 multi-hot.
    """
    missing = [c for c in FACTORS if c not in factors.columns]
    if missing:
        raise ValueError(f"factors lacks columns {missing}; give genre, mood, instrument and era.")
    vocabulary = synth_vocabulary()
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), STREAM_TAGS]))
    n_tracks, n_tags = len(factors), len(vocabulary)
    lookup = {tag: i for i, tag in enumerate(vocabulary.tags)}
    truth = np.zeros((n_tracks, n_tags), dtype=bool)
    synonym = np.zeros((n_tracks, n_tags), dtype=bool)
    for category in FACTORS:
        columns = np.array([lookup[value] for value in factors[category]])
        truth[np.arange(n_tracks), columns] = True
    for alias, value in SYNONYMS.items():
        synonym[:, lookup[alias]] = truth[:, lookup[value]]
    rates = keep_rates()
    keep = np.array([rates.get(tag, 0.0) for tag in vocabulary.tags])
    draws = rng.random((n_tracks, n_tags))
    observed = (truth & (draws < keep)) | (synonym & (draws < SYNONYM_RATE))
    observed |= ~truth & ~synonym & (rng.random((n_tracks, n_tags)) < FALSE_POSITIVE_RATE)
    empty = np.flatnonzero(~observed.any(axis=1))
    categories = list(FACTORS)
    chosen = rng.integers(0, len(categories), len(empty))
    for row, pick in zip(empty, chosen, strict=True):
        observed[row, lookup[factors[categories[pick]].iloc[row]]] = True
    return vocabulary, observed.astype(np.uint8)


def clean_tag_matrix(factors: pd.DataFrame, vocabulary: TagVocabulary) -> np.ndarray:
    """The noise-free tags: (n_tracks, n_tags) bool, True where a tag names the track's factor value.

    A synonym is true wherever its canonical tag is ("hip hop" wherever "hip-hop"). ``factors`` has one
    column per category (``corpus.factors``); rows follow it. This is the truth the observed tags are drawn
    from, so it is what an oracle tagger would output.
    """
    columns = [factors[category].to_numpy() == SYNONYMS.get(tag, tag)
               for tag, category in zip(vocabulary.tags, vocabulary.categories, strict=True)]
    return np.stack(columns, axis=1) if columns else np.zeros((len(factors), 0), dtype=bool)
