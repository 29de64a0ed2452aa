"""Procedural music: the embedded default corpus of mdrbench.

Each track is drawn from four independent factors (genre, mood, instrument, era), turned into a score
(drums, bass, chords, lead melody), rendered with synthesized timbres, produced like a record of its era
and tagged the way Last.fm users tag (missing positives, synonyms, rare false positives).

>>> corpus = synthesize("ci", seed=0)          # in memory
>>> corpus = ensure_corpus("ci", seed=0)       # cached on disk under default_root()
"""

from mdrbench.synth.factors import FACTORS, draw_factors
from mdrbench.synth.generate import (
    corpus_name,
    default_root,
    draw_splits,
    ensure_corpus,
    generator_settings,
    synthesize,
)
from mdrbench.synth.render import render_track
from mdrbench.synth.tags import SYNONYMS, clean_tag_matrix, draw_tags, keep_rates, synth_vocabulary

__all__ = ["FACTORS", "SYNONYMS", "clean_tag_matrix", "corpus_name", "default_root", "draw_factors", "draw_splits",
           "draw_tags", "ensure_corpus", "generator_settings", "keep_rates", "render_track", "synth_vocabulary",
           "synthesize"]
