"""Timbres: band-limited wavetables (additive synthesis) with envelopes, vibrato and noise.

Each pitched timbre is a harmonic amplitude spectrum evaluated at the note's partial frequencies, so a
spectrum may depend on absolute frequency (the formants of a sung vowel stay put while the pitch moves) and
partials above 0.45 x the sample rate are left out (no aliasing). One period is built by an inverse FFT and
cached per (timbre, pitch, vowel, sample rate); a note is then a table lookup along a phase ramp, which is
what makes rendering many times faster than real time without per-sample Python loops.

- piano: struck string, bright attack fading to a duller tone, pitch-dependent exponential decay;
- guitar: plucked string (pluck-position comb in the spectrum), faster decay;
- strings: bowed sawtooth ensemble (two detuned voices), slow attack, vibrato;
- synth lead: subtractive-style detuned saw with a resonant peak;
- organ: drawbar harmonics, instant attack, no decay, tremolo;
- brass: dull-to-bright swell (brightness follows loudness, as in FM brass);
- flute: nearly sinusoidal with breath noise and vibrato;
- female / male vocalists: glottal source through vowel formants (the vowel changes per note), vibrato;
  the two differ by register and formant frequencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

TABLE_SIZE = 4096
MAX_PARTIALS = 80

# (F1, F2, F3) in Hz, from Peterson & Barney style averages.
FORMANTS = {
    "male": {"a": (730, 1090, 2440), "e": (530, 1840, 2480), "i": (270, 2290, 3010), "o": (570, 840, 2410),
             "u": (300, 870, 2240)},
    "female": {"a": (850, 1220, 2810), "e": (610, 2330, 2990), "i": (310, 2790, 3310), "o": (590, 920, 2710),
               "u": (370, 950, 2670)},
}
VOWELS: tuple[str, ...] = ("a", "e", "i", "o", "u")


def _formant_envelope(frequencies: np.ndarray, formants: tuple[int, int, int]) -> np.ndarray:
    gains, bandwidths = (1.0, 0.6, 0.3), (90.0, 110.0, 160.0)
    envelope = np.full_like(frequencies, 0.02)
    for center, gain, width in zip(formants, gains, bandwidths, strict=True):
        envelope += gain / (1.0 + ((frequencies - center) / width) ** 2)
    return envelope


def _voice(kind: str) -> Callable:
    def spectrum(k: np.ndarray, f0: float, vowel: str) -> np.ndarray:
        return k ** -0.7 * _formant_envelope(k * f0, FORMANTS[kind][vowel])
    return spectrum


@dataclass(frozen=True)
class Timbre:
    """How one instrument sounds.

    ``spectrum(k, f0, vowel)`` gives the amplitude of harmonic k; ``dull`` (optional) is the spectrum the
    tone fades to with time constant ``dull_time`` (struck strings lose their highs, brass gains them).
    ``decay`` is an exponential time constant in seconds at middle C (None: sustained).
    """

    spectrum: Callable
    attack: float
    decay: float | None
    release: float
    dull: Callable | None = None
    dull_time: float = 0.3
    vibrato: float = 0.0  # semitones
    vibrato_rate: float = 5.5
    detune_cents: float = 0.0
    breath: float = 0.0
    tremolo: float = 0.0
    vowels: bool = False


def _pluck(k, f0, vowel):
    return np.abs(np.sin(np.pi * k * 0.18)) / k ** 1.1


def _synth(k, f0, vowel):
    return (1.0 / k) * (1.0 + 2.5 * np.exp(-(((k * f0) - 1800.0) / 500.0) ** 2))


_ORGAN_DRAWBARS = {1: 1.0, 2: 0.8, 3: 0.6, 4: 0.55, 6: 0.35, 8: 0.3, 10: 0.12, 12: 0.1, 16: 0.08}

TIMBRES: dict[str, Timbre] = {
    "piano": Timbre(lambda k, f0, v: k ** -1.2 * (1 + 0.3 * np.cos(k)), 0.003, 1.1, 0.08,
                    dull=lambda k, f0, v: k ** -3.0, dull_time=0.25),
    "guitar": Timbre(_pluck, 0.002, 0.55, 0.05, dull=lambda k, f0, v: k ** -2.5 * (k < 6), dull_time=0.15),
    "strings": Timbre(lambda k, f0, v: k ** -1.0 * np.exp(-k * f0 / 4500.0), 0.12, None, 0.18, vibrato=0.25,
                      vibrato_rate=5.0, detune_cents=9.0),
    "synth lead": Timbre(_synth, 0.01, None, 0.06, detune_cents=14.0, vibrato=0.12, vibrato_rate=6.0),
    "organ": Timbre(lambda k, f0, v: np.array([_ORGAN_DRAWBARS.get(int(x), 0.0) for x in k]), 0.005, None, 0.03,
                    tremolo=0.25),
    "brass": Timbre(lambda k, f0, v: k ** -0.6 * np.exp(-k * f0 / 3500.0), 0.05, None, 0.08,
                    dull=lambda k, f0, v: k ** -2.8, dull_time=-0.08, vibrato=0.1),
    "flute": Timbre(lambda k, f0, v: np.exp(-1.6 * (k - 1)) * (1 + 0.3 * (k == 3)),
                    0.06, None, 0.08, vibrato=0.2, vibrato_rate=5.0, breath=0.06),
    "female vocalists": Timbre(_voice("female"), 0.05, None, 0.1, vibrato=0.35, vibrato_rate=5.5, vowels=True,
                               breath=0.015),
    "male vocalists": Timbre(_voice("male"), 0.05, None, 0.1, vibrato=0.3, vibrato_rate=5.2, vowels=True,
                             breath=0.015),
    # neutral accompaniment timbres
    "pad": Timbre(lambda k, f0, v: k ** -2.0, 0.25, None, 0.3, detune_cents=7.0),
    "epiano": Timbre(lambda k, f0, v: np.where(k == 1, 1.0, 0.0) + 0.25 * (k == 2) + 0.12 * (k == 7), 0.002,
                     1.4, 0.1, dull=lambda k, f0, v: np.where(k == 1, 1.0, 0.0) + 0.05 * (k == 2), dull_time=0.2),
    "choir": Timbre(lambda k, f0, v: _voice("female")(k, f0, "o"), 0.3, None, 0.3, detune_cents=10.0,
                    vibrato=0.1),
    "bass": Timbre(lambda k, f0, v: k ** -1.6 * (1 + 0.5 * (k == 2)), 0.004, 0.9, 0.04,
                   dull=lambda k, f0, v: k ** -4.0, dull_time=0.12),
}


def midi_to_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


@lru_cache(maxsize=8192)
def wavetable(name: str, midi: int, sample_rate: int, vowel: str = "a", dull: bool = False) -> np.ndarray:
    """One period of ``name`` at pitch ``midi``, RMS-normalised, shape (TABLE_SIZE,) float32."""
    timbre = TIMBRES[name]
    spectrum = timbre.dull if dull else timbre.spectrum
    f0 = midi_to_hz(midi)
    n_partials = int(min(MAX_PARTIALS, max(1, np.floor(0.45 * sample_rate / f0))))
    harmonics = np.arange(1, n_partials + 1, dtype=np.float64)
    amplitudes = np.asarray(spectrum(harmonics, f0, vowel), dtype=np.float64)
    bins = np.zeros(TABLE_SIZE // 2 + 1, dtype=np.complex128)
    # fixed pseudo-random phases: a smoother waveform than all-sine, and the same every run
    phases = np.random.default_rng(n_partials).uniform(0, 2 * np.pi, n_partials)
    bins[1:n_partials + 1] = amplitudes * np.exp(1j * phases)
    table = np.fft.irfft(bins, n=TABLE_SIZE)
    rms = np.sqrt(np.mean(table ** 2))
    return (table / (rms + 1e-12)).astype(np.float32)


@lru_cache(maxsize=4)
def _noise(n_samples: int = 1 << 17) -> np.ndarray:
    """A fixed block of first-differenced (breathy) noise; notes read it at random offsets (cheaper than drawing)."""
    noise = np.random.default_rng(12345).standard_normal(n_samples + 1).astype(np.float32)
    return np.diff(noise)


def render_note(name: str, midi: int, velocity: float, sound_seconds: float, sample_rate: int,
                rng: np.random.Generator, vowel: str | None = None) -> np.ndarray:
    """One note: ``sound_seconds`` of tone plus the timbre's release tail, shape (n_samples,) float32."""
    timbre = TIMBRES[name]
    midi = int(np.clip(midi, 21, 108))
    vowel = vowel if (timbre.vowels and vowel) else "a"
    n_sound = max(1, int(sound_seconds * sample_rate))
    n_total = n_sound + int(timbre.release * sample_rate)
    time = np.arange(n_total, dtype=np.float32) * np.float32(1.0 / sample_rate)
    # phase in table samples: float64 keeps long notes in tune, the mask wraps it around the table
    cycles = np.arange(n_total, dtype=np.float64) * (midi_to_hz(midi) * TABLE_SIZE / sample_rate)
    cycles += rng.random() * TABLE_SIZE
    if timbre.vibrato:
        # vibrato fades in over 0.25 s like a player's; phase is the integral of the frequency
        f0 = midi_to_hz(midi)
        depth = TABLE_SIZE * f0 * (2 ** (timbre.vibrato / 12) - 1) / (2 * np.pi * timbre.vibrato_rate)
        fade_in = np.minimum(time * np.float32(4.0), np.float32(1.0))
        cycles += depth * fade_in * np.sin(np.float32(2 * np.pi * timbre.vibrato_rate) * time
                                           + np.float32(rng.uniform(0, 6.28)))
    mask = TABLE_SIZE - 1
    index = cycles.astype(np.int64) & mask
    table = wavetable(name, midi, sample_rate, vowel)
    tone = table[index]
    if timbre.detune_cents:
        detuned = (cycles * 2 ** (timbre.detune_cents / 1200)).astype(np.int64) & mask
        tone += table[detuned]
        tone *= np.float32(0.5)
    if timbre.dull is not None:
        dull_tone = wavetable(name, midi, sample_rate, vowel, True)[index]
        if timbre.dull_time > 0:  # bright attack fading to dull
            mix = np.exp(time * np.float32(-1.0 / timbre.dull_time))
        else:  # dull attack swelling to bright (brass)
            mix = np.float32(1.0) - np.exp(time * np.float32(1.0 / timbre.dull_time))
        tone -= dull_tone
        tone *= mix
        tone += dull_tone
    if timbre.decay is not None:
        envelope = np.exp(time * np.float32(-1.0 / (timbre.decay * 2 ** (-(midi - 60) / 24))))
    else:
        envelope = np.ones(n_total, dtype=np.float32)
    n_attack = min(n_total, max(1, int(timbre.attack * sample_rate)))
    envelope[:n_attack] *= np.linspace(0.0, 1.0, n_attack, dtype=np.float32)
    if n_total > n_sound:
        envelope[n_sound:] *= np.linspace(1.0, 0.0, n_total - n_sound, dtype=np.float32)
    if timbre.tremolo:
        envelope *= np.float32(1.0) - np.float32(timbre.tremolo * 0.5) * (
            np.float32(1.0) + np.sin(np.float32(2 * np.pi * 6.5) * time))
    tone *= envelope
    if timbre.breath:
        noise = _noise()
        if n_total > len(noise):
            noise = np.resize(noise, n_total)
        offset = int(rng.integers(0, max(1, len(noise) - n_total)))
        tone += np.float32(timbre.breath) * noise[offset:offset + n_total] * envelope
    tone *= np.float32(velocity)
    return tone
