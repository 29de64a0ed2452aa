"""Scores: from a track's factors to note and drum events (no audio here).

A score has four parts on a 16-step-per-bar grid in 4/4: drums (the genre's pattern, swing and fills),
a bass line (the genre's pattern over the chord roots), chords (the genre's progression and comping
pattern, built in the mood's scale) and a lead melody (phrases repeated with variation, chord tones on
the beats, in the instrument's register shifted by the mood).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mdrbench.synth.factors import GENRE_STYLES, LEAD_REGISTER, MOOD_STYLES
from mdrbench.synth.instruments import VOWELS


@dataclass
class Note:
    onset: float  # seconds
    seconds: float  # sounding length
    pitch: int  # MIDI
    velocity: float
    vowel: str = "a"


@dataclass
class Score:
    tempo: float
    lead: list[Note] = field(default_factory=list)
    chords: list[Note] = field(default_factory=list)
    bass: list[Note] = field(default_factory=list)
    drums: list[tuple[float, str, float]] = field(default_factory=list)  # (onset, drum name, velocity)


# (step, length in steps, which chord tones: "all" or an index into the voicing)
COMP_PATTERNS: dict[str, list[tuple[int, float, object]]] = {
    "strum8": [(step, 2, "all") for step in range(0, 16, 2)],
    "pulse4": [(step, 3, "all") for step in range(0, 16, 4)],
    "charleston": [(0, 3, "all"), (6, 2, "all"), (12, 2, "all")],
    "pad_stab": [(0, 16, "all")] + [(step, 1, "all") for step in (2, 6, 10, 14)],
    "sparse": [(0, 8, "all"), (10, 4, "all")],
    "arpeggio8": [(step, 4, index) for step, index in zip(range(0, 16, 2), (0, 1, 2, 1, 0, 1, 2, 1), strict=True)],
    "alberti": [(step, 2, index) for step, index in zip(range(0, 16, 2), (0, 2, 1, 2, 0, 2, 1, 2), strict=True)],
    "chug16": [(step, 0.6, "all") for step in range(16)],
    "skank": [(step, 1, "all") for step in (2, 6, 10, 14)],
    "shuffle": [(step, 1.5, "all") for step in range(0, 16, 2)],
}

# (step, length in steps, interval above the chord root in semitones; "3" is the chord's own third)
BASS_PATTERNS: dict[str, list[tuple[int, float, object]]] = {
    "root8": [(step, 2, 0) for step in range(0, 16, 2)],
    "root16": [(step, 1, 0) for step in range(16)],
    "root_fifth": [(0, 4, 0), (4, 4, 7), (8, 4, 0), (12, 4, 7)],
    "halves": [(0, 8, 0), (8, 8, 7)],
    "offbeat": [(step, 2, 12 if step % 8 == 6 else 0) for step in (2, 6, 10, 14)],
    "sub": [(0, 7, 0), (7, 3, 0), (10, 6, 0)],
    "reggae": [(2, 2, 0), (4, 2, 0), (6, 1, 7), (8, 4, 0), (12, 2, 7), (14, 2, 12)],
    "boogie": [(0, 2, 0), (2, 2, "3"), (4, 2, 7), (6, 2, 9), (8, 2, 10), (10, 2, 9), (12, 2, 7), (14, 2, "3")],
    "walking": [],  # made note by note, see _walking_bar
}

CHORD_INTERVALS = {"power": (0, 7, 12), "dom7": None}


def chord_tones(scale: tuple[int, ...], degree: int, chord: str) -> tuple[int, list[int]]:
    """Root (semitones above the tonic) and chord intervals above the root for a scale degree."""
    root = scale[degree % 7]
    if chord == "power":
        return root, [0, 7, 12]
    third = (scale[(degree + 2) % 7] - root) % 12
    fifth = (scale[(degree + 4) % 7] - root) % 12
    if chord == "dom7":
        return root, [0, third, 7, 10]
    tones = [0, third, fifth]
    if chord == "seventh":
        tones.append((scale[(degree + 6) % 7] - root) % 12)
    return root, tones


def _fold(pitch: int, low: int, high: int) -> int:
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return pitch


def make_score(genre: str, mood: str, instrument: str, key: int, tempo: float, duration: float,
               rng: np.random.Generator) -> Score:
    """All events of one track, ending at ``duration`` seconds."""
    style, feel = GENRE_STYLES[genre], MOOD_STYLES[mood]
    step_seconds = 60.0 / tempo / 4.0
    n_bars = int(np.ceil(duration / (16 * step_seconds))) + 1
    progression = style.progressions[rng.integers(len(style.progressions))]
    swing = style.swing * rng.uniform(0.85, 1.15)

    def time_of(bar: int, step: float) -> float:
        whole = int(np.floor(step))
        offset = 0.0
        if style.swing_unit == 2 and whole % 4 == 2:
            offset = swing * 2
        elif style.swing_unit == 1 and whole % 2 == 1:
            offset = swing
        return (bar * 16 + step + offset) * step_seconds

    score = Score(tempo=tempo)
    chords = [chord_tones(feel.scale, progression[bar % len(progression)], style.chord) for bar in range(n_bars)]
    _add_drums(score, style, feel, n_bars, time_of, rng)
    _add_bass(score, style, chords, key, n_bars, step_seconds, time_of, rng)
    _add_chords(score, style, feel, chords, key, n_bars, step_seconds, time_of, rng)
    _add_lead(score, style, feel, chords, instrument, key, n_bars, step_seconds, time_of, rng)
    for part in (score.lead, score.chords, score.bass):
        part[:] = [note for note in part if note.onset < duration]
    score.drums = [hit for hit in score.drums if 0 <= hit[0] < duration]
    return score


def _add_drums(score, style, feel, n_bars, time_of, rng):
    level = style.drum_level * feel.drum_scale
    if level <= 0:
        return
    jitter = 0.004 if style.swing == 0 else 0.008
    for bar in range(n_bars):
        for drum, pattern in style.drums.items():
            for step, symbol in enumerate(pattern):
                if symbol == ".":
                    continue
                velocity = (1.0 if symbol == "x" else 0.45) * level * rng.uniform(0.8, 1.05)
                if step % 4 == 0:
                    velocity *= 1 + feel.accent
                score.drums.append((time_of(bar, step) + rng.normal(0, jitter), drum, velocity))
        if "snare" in style.drums and bar % 4 == 3 and rng.random() < 0.6:  # a fill every fourth bar
            for step in range(12, 16):
                if rng.random() < 0.7:
                    score.drums.append((time_of(bar, step), "snare", level * rng.uniform(0.4, 0.9)))
        if "crash" not in style.drums and "snare" in style.drums and bar % 4 == 0 and level > 0.6:
            score.drums.append((time_of(bar, 0), "crash", level * 0.7))


def _walking_bar(root: int, tones: list[int], next_root: int, rng) -> list[tuple[int, float, int]]:
    second = tones[rng.integers(1, len(tones))]
    third = tones[rng.integers(0, len(tones))] + (12 if rng.random() < 0.3 else 0)
    approach = (next_root - root) % 12 + (1 if rng.random() < 0.5 else -1)
    return [(0, 4, 0), (4, 4, second), (8, 4, third), (12, 4, approach)]


def _add_bass(score, style, chords, key, n_bars, step_seconds, time_of, rng):
    for bar in range(n_bars):
        root, tones = chords[bar]
        base = _fold(36 + key + root, 33, 44)
        if style.bass == "walking":
            pattern = _walking_bar(root, tones, chords[(bar + 1) % n_bars][0], rng)
        else:
            pattern = BASS_PATTERNS[style.bass]
        for step, length, interval in pattern:
            interval = tones[1] if interval == "3" else interval
            score.bass.append(Note(time_of(bar, step), length * step_seconds * 0.9, base + int(interval),
                                   0.8 * rng.uniform(0.85, 1.0)))


def _add_chords(score, style, feel, chords, key, n_bars, step_seconds, time_of, rng):
    low = 50 if style.chord != "power" else 40
    for bar in range(n_bars):
        root, tones = chords[bar]
        voicing = sorted(_fold(48 + key + root + interval, low, low + 16) for interval in tones)
        for step, length, which in COMP_PATTERNS[style.comp]:
            pitches = voicing if which == "all" else [voicing[int(which) % len(voicing)]]
            velocity = rng.uniform(0.75, 1.0) * (1.0 if step % 4 == 0 else 0.8)
            if style.comp == "pad_stab" and length == 16:
                velocity *= 0.5
            for pitch in pitches:
                score.chords.append(Note(time_of(bar, step), length * step_seconds * 0.95, pitch,
                                         velocity / np.sqrt(len(pitches))))


def _phrase(style, feel, center, scale, key, rng) -> list[tuple[int, int, int]]:
    """One two-bar phrase as (start step, length in steps, scale position); position -1 is a rest."""
    target = 4.0 / (style.melody_density * feel.density_scale)  # mean steps per note
    lengths = np.array([1, 2, 3, 4, 6, 8])
    weights = np.exp(-2.0 * np.abs(np.log(lengths / target)))
    weights /= weights.sum()
    events, step = [], 0
    position = int(rng.integers(-2, 3))
    while step < 32:
        length = int(min(rng.choice(lengths, p=weights), 32 - step))
        if rng.random() < 0.12 or step + length == 32 and rng.random() < 0.5:
            events.append((step, length, -999))
        else:
            position += int(rng.choice([-3, -2, -1, 0, 1, 2, 3], p=[0.05, 0.15, 0.27, 0.08, 0.27, 0.15, 0.03]))
            position = int(np.clip(position, -6, 6))
            events.append((step, length, position))
        step += length
    return events


def _add_lead(score, style, feel, chords, instrument, key, n_bars, step_seconds, time_of, rng):
    scale = feel.scale
    center = LEAD_REGISTER[instrument] + feel.register + int(rng.integers(-2, 3))
    tonic = _fold(key + 60, center - 6, center + 5)
    phrases = [_phrase(style, feel, center, scale, key, rng) for _ in range(2)]
    for start_bar in range(0, n_bars, 2):
        index = (start_bar // 2) % 2
        events = phrases[index]
        vary = start_bar >= 4  # repeats are varied a little, like a second verse
        for step, length, position in events:
            if position == -999:
                continue
            if vary and rng.random() < 0.25:
                position += int(rng.choice([-1, 1]))
            bar = start_bar + step // 16
            if bar >= n_bars:
                break
            degree_octave, degree = divmod(position, 7)
            pitch = tonic + 12 * degree_octave + scale[degree]
            if step % 4 == 0:  # beats land on chord tones
                root, tones = chords[bar]
                candidates = [tonic + root + t + 12 * o for t in tones for o in (-2, -1, 0, 1)]
                pitch = min(candidates, key=lambda c: abs(c - pitch))
            velocity = feel.velocity * rng.uniform(0.9, 1.1) * (1 + feel.accent if step % 4 == 0 else 1.0)
            score.lead.append(Note(time_of(bar, step % 16), length * step_seconds * feel.articulation, int(pitch),
                                   velocity, VOWELS[int(rng.integers(len(VOWELS)))]))
