"""The four independent factors of a synthetic track and what each of them controls.

Every track draws one value per category, uniformly and independently (so that a model that predicts one
category from another learns nothing, and disentanglement can be measured):

- genre: tempo range, drum pattern and feel, chord progressions and chord qualities, bass line, comping
  pattern and arrangement density (:data:`GENRE_STYLES`);
- mood: mode (scale), tempo shift, dynamics, register, articulation and melody density (:data:`MOOD_STYLES`);
- instrument: the timbre of the lead line and, when the accompaniment is ``"same"``, of the chords;
- era: the production chain (bandwidth, tape hiss and wow, saturation, reverb, compression), see
  :mod:`mdrbench.synth.production`.

Nuisance parameters (key, exact tempo, duration, accompaniment timbre, production strength, per-track seed)
vary inside each category so that no factor is trivially separable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FACTORS: dict[str, tuple[str, ...]] = {
    "genre": ("rock", "pop", "jazz", "electronic", "hip-hop", "folk", "classical", "metal", "reggae", "blues"),
    "mood": ("happy", "sad", "calm", "energetic", "dark", "romantic"),
    "instrument": ("piano", "guitar", "strings", "synth lead", "organ", "brass", "flute",
                   "female vocalists", "male vocalists"),
    "era": ("60s", "70s", "80s", "90s", "00s"),
}

# The accompaniment (chords) is the lead's own timbre, a neutral one, or absent; drawn per track.
ACCOMPANIMENTS: tuple[str, ...] = ("same", "pad", "epiano", "none")
ACCOMPANIMENT_PROBABILITIES: tuple[float, ...] = (0.35, 0.25, 0.25, 0.15)

# Streams of the seed tree: every random choice has its own stream so that adding one does not shift others.
STREAM_FACTORS, STREAM_TRACKS, STREAM_TAGS, STREAM_SPLITS = 0, 1, 2, 3


@dataclass(frozen=True)
class GenreStyle:
    """What a genre changes. Drum patterns are 16-step strings per drum ('x' loud, 'o' soft, '.' rest)."""

    tempo: tuple[float, float]
    drums: dict[str, str]
    swing: float  # delay of odd grid steps as a fraction of a step (0 straight, ~0.33 triplet swing)
    swing_unit: int  # 1: sixteenths swing, 2: eighths swing
    progressions: tuple[tuple[int, ...], ...]  # scale degrees (0 = tonic), one chord per bar
    chord: str  # "triad", "seventh", "power", "dom7"
    comp: str  # comping pattern name, see scores.COMP_PATTERNS
    bass: str  # bass pattern name, see scores.BASS_PATTERNS
    melody_density: float  # mean notes per beat of the lead
    drum_level: float
    comp_level: float


_ROCK_HATS = "x.x.x.x.x.x.x.x."
GENRE_STYLES: dict[str, GenreStyle] = {
    "rock": GenreStyle((100, 140), {"kick": "x.......x.x.....", "snare": "....x.......x...", "hat": _ROCK_HATS},
                       0.0, 2, ((0, 3, 4, 3), (0, 4, 5, 3), (5, 3, 0, 4), (0, 3, 0, 4)), "triad", "strum8",
                       "root8", 1.6, 1.0, 0.8),
    "pop": GenreStyle((95, 125), {"kick": "x.....x.x.......", "snare": "....x.......x...",
                                  "hat": "xoxoxoxoxoxoxoxo"},
                      0.0, 1, ((0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4), (3, 4, 0, 0)), "triad", "pulse4",
                      "root_fifth", 1.4, 0.8, 0.7),
    "jazz": GenreStyle((110, 180), {"ride": "x...x.x.x...x.x.", "kick": "o...............",
                                    "snare": "......o.......o.", "pedal": "....o.......o..."},
                       0.33, 2, ((1, 4, 0, 0), (0, 5, 1, 4), (2, 5, 1, 4)), "seventh", "charleston", "walking",
                       1.7, 0.55, 0.6),
    "electronic": GenreStyle((120, 132), {"kick": "x...x...x...x...", "clap": "....x.......x...",
                                          "open": "..x...x...x...x.", "hat": "o.o.o.o.o.o.o.o."},
                             0.0, 1, ((5, 3, 0, 4), (0, 0, 5, 5), (0, 6, 5, 6)), "seventh", "pad_stab",
                             "offbeat", 1.8, 1.0, 0.6),
    "hip-hop": GenreStyle((80, 98), {"kick": "x......x..x.....", "snare": "....x.......x...",
                                     "hat": "xoxoxoxoxoxoxoxo"},
                          0.2, 1, ((0, 3), (0, 5), (1, 0), (0, 0, 5, 4)), "seventh", "sparse", "sub", 1.2,
                          1.0, 0.5),
    "folk": GenreStyle((90, 120), {"kick": "o.......o.......", "shaker": "o.o.o.o.o.o.o.o."},
                       0.0, 2, ((0, 3, 0, 4), (0, 4, 3, 0), (0, 0, 3, 4)), "triad", "arpeggio8", "halves",
                       1.3, 0.4, 0.8),
    "classical": GenreStyle((60, 100), {}, 0.0, 2, ((0, 3, 4, 0), (0, 1, 4, 0), (0, 5, 1, 4), (0, 3, 1, 4)),
                            "triad", "alberti", "halves", 1.5, 0.0, 0.7),
    "metal": GenreStyle((140, 190), {"kick": "xxxxxxxxxxxxxxxx", "snare": "....x.......x...",
                                     "crash": "x...x...x...x..."},
                        0.0, 1, ((0, 5, 6, 0), (0, 1, 0, 6), (0, 5, 3, 4)), "power", "chug16", "root16", 1.9,
                        1.1, 0.9),
    "reggae": GenreStyle((70, 90), {"kick": "........x.......", "rim": "........x.......",
                                    "hat": "x.x.x.x.x.x.x.x."},
                         0.12, 2, ((0, 3), (0, 4), (0, 3, 4, 3)), "triad", "skank", "reggae", 1.1, 0.8, 0.7),
    "blues": GenreStyle((70, 110), {"kick": "x.......x.......", "snare": "....x.......x...",
                                    "hat": "x.x.x.x.x.x.x.x."},
                        0.33, 2, ((0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4),), "dom7", "shuffle", "boogie", 1.3, 0.8,
                        0.7),
}


@dataclass(frozen=True)
class MoodStyle:
    """What a mood changes: scale (mode), tempo, loudness of the lead, register, articulation, density."""

    scale: tuple[int, ...]
    tempo_scale: float
    velocity: float  # lead dynamics
    drum_scale: float  # drum intensity relative to the genre's level
    register: int  # semitones added to the lead's centre pitch
    articulation: float  # sounding fraction of each note's slot (0.5 staccato .. 1.0 legato)
    density_scale: float
    accent: float  # velocity contrast between strong and weak beats


MAJOR, MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)
PHRYGIAN, LYDIAN = (0, 1, 3, 5, 7, 8, 10), (0, 2, 4, 6, 7, 9, 11)
MOOD_STYLES: dict[str, MoodStyle] = {
    "happy": MoodStyle(MAJOR, 1.1, 0.8, 1.0, 5, 0.55, 1.2, 0.25),
    "sad": MoodStyle(MINOR, 0.78, 0.45, 0.5, -5, 1.0, 0.7, 0.05),
    "calm": MoodStyle(LYDIAN, 0.75, 0.4, 0.3, 0, 1.0, 0.55, 0.0),
    "energetic": MoodStyle(MAJOR, 1.25, 1.0, 1.4, 8, 0.45, 1.5, 0.4),
    "dark": MoodStyle(PHRYGIAN, 0.95, 0.8, 1.2, -9, 0.7, 0.9, 0.35),
    "romantic": MoodStyle(MAJOR, 0.88, 0.6, 0.6, 2, 0.95, 0.8, 0.15),
}

# Centre MIDI pitch of each lead instrument (the voices differ mostly by register, like real singers).
LEAD_REGISTER: dict[str, int] = {"piano": 72, "guitar": 67, "strings": 72, "synth lead": 72, "organ": 69,
                                 "brass": 65, "flute": 79, "female vocalists": 70, "male vocalists": 57}

NUISANCE_COLUMNS: tuple[str, ...] = ("key", "tempo", "duration", "accompaniment", "production_strength", "seed")


def track_seed(seed: int, index: int) -> int:
    """The seed of track ``index`` of a corpus seeded ``seed``: independent of the number of tracks."""
    state = np.random.SeedSequence([int(seed), STREAM_TRACKS, int(index)]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def draw_factors(n_tracks: int, seed: int = 0, min_duration: float = 10.0, max_duration: float = 12.0
                 ) -> pd.DataFrame:
    """Draw the clean factors and nuisance parameters of ``n_tracks`` tracks (no audio is rendered).

    Returns:
        DataFrame with one row per track and columns genre, mood, instrument, era (the clean factor values,
        each drawn uniformly and independently) and key (0..11, tonic pitch class), tempo (beats per minute:
        uniform in the genre's range, times the mood's tempo scale, times a +-4% jitter), duration (seconds,
        uniform in [min_duration, max_duration]), accompaniment, production_strength (0.3..1, how strongly
        the era's production is applied) and seed (the track's own seed for :func:`render_track`).
    """
    if n_tracks < 1:
        raise ValueError(f"n_tracks must be at least 1, got {n_tracks}.")
    if not 0 < min_duration <= max_duration:
        raise ValueError(f"need 0 < min_duration <= max_duration, got {min_duration} and {max_duration}.")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), STREAM_FACTORS]))
    frame = pd.DataFrame({category: np.asarray(values, dtype=object)[rng.integers(0, len(values), n_tracks)]
                          for category, values in FACTORS.items()})
    frame["key"] = rng.integers(0, 12, n_tracks)
    low = np.array([GENRE_STYLES[g].tempo[0] for g in frame["genre"]])
    high = np.array([GENRE_STYLES[g].tempo[1] for g in frame["genre"]])
    mood_scale = np.array([MOOD_STYLES[m].tempo_scale for m in frame["mood"]])
    frame["tempo"] = np.round((low + (high - low) * rng.random(n_tracks)) * mood_scale
                              * rng.uniform(0.96, 1.04, n_tracks), 2)
    frame["duration"] = np.round(rng.uniform(min_duration, max_duration, n_tracks), 3)
    frame["accompaniment"] = np.asarray(ACCOMPANIMENTS, dtype=object)[
        rng.choice(len(ACCOMPANIMENTS), size=n_tracks, p=ACCOMPANIMENT_PROBABILITIES)]
    frame["production_strength"] = np.round(rng.uniform(0.3, 1.0, n_tracks), 3)
    frame["seed"] = [track_seed(seed, index) for index in range(n_tracks)]
    return frame
