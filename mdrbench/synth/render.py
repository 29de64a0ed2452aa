"""Render one track: score -> parts (lead, chords, bass, drums) -> mix -> era production -> normalized audio."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
from scipy import signal

from mdrbench.synth.drums import DRUM_GAINS, make_kit
from mdrbench.synth.factors import ACCOMPANIMENT_PROBABILITIES, ACCOMPANIMENTS, FACTORS, GENRE_STYLES, MOOD_STYLES
from mdrbench.synth.instruments import render_note
from mdrbench.synth.production import apply_era
from mdrbench.synth.scores import make_score

PEAK = 0.89  # about -1 dBFS of headroom


def _add(buffer: np.ndarray, start: int, sound: np.ndarray) -> None:
    if start >= len(buffer):
        return
    if start < 0:
        sound, start = sound[-start:], 0
    end = min(len(buffer), start + len(sound))
    buffer[start:end] += sound[: end - start]


def _render_part(notes, timbre: str, n_samples: int, sample_rate: int, rng) -> np.ndarray:
    buffer = np.zeros(n_samples, dtype=np.float32)
    for note in notes:
        sound = render_note(timbre, note.pitch, note.velocity, note.seconds, sample_rate, rng, note.vowel)
        _add(buffer, int(round(note.onset * sample_rate)), sound)
    return buffer


@lru_cache(maxsize=8)
def _brightness_filter(sample_rate: int) -> np.ndarray:
    return signal.butter(1, min(2000 / (sample_rate / 2), 0.9), "highpass", output="sos")


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)) + 1e-9)


def _check_row(row: Mapping) -> None:
    for category, values in FACTORS.items():
        if category not in row:
            raise ValueError(f"factor_row has no {category!r}; give genre, mood, instrument and era "
                             f"(e.g. a row of mdrbench.synth.draw_factors).")
        if row[category] not in values:
            raise ValueError(f"unknown {category} {row[category]!r}; choose one of {list(values)}.")


def render_track(factor_row: Mapping, sample_rate: int = 16000, duration: float | None = None,
                 seed: int | None = None) -> np.ndarray:
    """Render one track from its factors.

    Args:
        factor_row: mapping (dict or DataFrame row) with genre, mood, instrument, era and optionally the
            nuisance parameters of :func:`draw_factors` (key, tempo, duration, accompaniment,
            production_strength, seed); missing ones are drawn from ``seed``.
        sample_rate: Hz.
        duration: seconds (default: the row's duration).
        seed: the track's seed (default: the row's seed). Same seed and row give bit-identical audio.

    Returns:
        (round(duration * sample_rate),) float32 mono audio, peak 0.89, no NaN.
    """
    _check_row(factor_row)
    row = dict(factor_row)
    seed = row.get("seed") if seed is None else seed
    duration = row.get("duration") if duration is None else duration
    if seed is None or duration is None:
        raise ValueError("give seed and duration, as arguments or as columns of factor_row.")
    if duration <= 0 or sample_rate < 4000:
        raise ValueError(f"need duration > 0 and sample_rate >= 4000, got {duration} and {sample_rate}.")
    rng = np.random.default_rng(int(seed))
    genre, mood, instrument, era = row["genre"], row["mood"], row["instrument"], row["era"]
    key = int(row["key"]) if "key" in row else int(rng.integers(12))
    tempo = float(row["tempo"]) if "tempo" in row else float(np.mean(GENRE_STYLES[genre].tempo)
                                                              * MOOD_STYLES[mood].tempo_scale)
    accompaniment = row.get("accompaniment") or str(rng.choice(ACCOMPANIMENTS, p=ACCOMPANIMENT_PROBABILITIES))
    strength = float(row.get("production_strength", 0.75))

    n_samples = int(round(duration * sample_rate))
    score = make_score(genre, mood, instrument, key, tempo, duration, rng)
    style, feel = GENRE_STYLES[genre], MOOD_STYLES[mood]

    lead = _render_part(score.lead, instrument, n_samples, sample_rate, rng)
    # loud playing is brighter, soft playing darker (true of strings, brass, voices): the mood's dynamics
    # tilt the lead's spectrum as well as its level
    lead = lead + (3.0 * (feel.velocity - 0.6)) * signal.sosfilt(_brightness_filter(sample_rate), lead).astype(
        np.float32)
    bass = _render_part(score.bass, "bass", n_samples, sample_rate, rng)
    mix = lead / _rms(lead) * 0.5 * feel.velocity * rng.uniform(0.85, 1.15) + bass / _rms(bass) * 0.22
    if accompaniment != "none":
        timbre = instrument if accompaniment == "same" else accompaniment
        if timbre in ("female vocalists", "male vocalists"):
            timbre = "choir"  # a voice accompanies itself as backing vocals
        chords = _render_part(score.chords, timbre, n_samples, sample_rate, rng)
        mix += chords / _rms(chords) * 0.2 * style.comp_level * rng.uniform(0.8, 1.2)
    if score.drums:
        kit = make_kit(sample_rate, rng)
        drums = np.zeros(n_samples, dtype=np.float32)
        for onset, drum, velocity in score.drums:
            _add(drums, int(round(onset * sample_rate)), kit[drum] * (DRUM_GAINS[drum] * velocity))
        mix += drums / _rms(drums) * 0.2 * style.drum_level * feel.drum_scale
    audio = apply_era(mix, era, strength, sample_rate, rng)
    audio = audio - np.mean(audio)
    audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
    audio = audio / (np.abs(audio).max() + 1e-9) * PEAK
    return audio.astype(np.float32)
