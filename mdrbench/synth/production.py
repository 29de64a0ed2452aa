"""Era as production: bandwidth, tape hiss and wow, saturation, reverb and loudness compression.

Each era has a range per setting; a track's setting is interpolated inside that range by its
``production_strength`` (0.3..1) and a little random jitter, so neighbouring eras overlap somewhat.

======  ==============  ============  =========  ==========  ===========  ===========================
era     highpass (Hz)   lowpass (Hz)  hiss (dB)  wow depth   saturation   reverb, compression
======  ==============  ============  =========  ==========  ===========  ===========================
60s     120..300        3200..5000    -52..-38   0.3..0.6 %  tape, mild   spring 0.6 s, none
70s     60..150         4200..6500    -58..-46   0.1..0.25 % tape, warm   plate 1.2 s, gentle
80s     40..90          5500..7500    -66..-56   none        none         gated 1.6 s, medium, bright
90s     30..50          none          none       none        soft         room 0.6 s, medium
00s     20..35          none          none       none        hard clip    short 0.3 s, heavy (loud)
======  ==============  ============  =========  ==========  ===========  ===========================

After the era's chain, every track gets a random tilt (lows and highs each -4..+4 dB or so): records of one
era were mastered differently, so the era is audible but not trivially separable.

Lowpass settings above 0.45 x the sample rate are skipped (at 16 kHz the widest 80s settings, 7200..7500 Hz,
mean the full band).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal


@dataclass(frozen=True)
class EraSettings:
    highpass: tuple[float, float]
    lowpass: tuple[float, float] | None
    hiss_db: tuple[float, float] | None
    wow: tuple[float, float]  # relative pitch deviation
    drive: tuple[float, float]  # saturation gain into tanh (1 = nearly clean)
    reverb: str
    reverb_seconds: float
    wet: tuple[float, float]
    compression: float  # ratio
    brightness: float  # high-shelf gain (linear, added highs)
    bass_boost: float


ERA_SETTINGS: dict[str, EraSettings] = {
    "60s": EraSettings((120, 300), (3200, 5000), (-52, -38), (0.003, 0.006), (1.5, 2.5), "spring", 0.6,
                       (0.2, 0.35), 1.0, 0.0, 0.0),
    "70s": EraSettings((60, 150), (4200, 6500), (-58, -46), (0.001, 0.0025), (1.5, 3.0), "plate", 1.2,
                       (0.2, 0.3), 2.0, 0.0, 0.1),
    "80s": EraSettings((40, 90), (5500, 7500), (-66, -56), (0.0, 0.0), (1.0, 1.2), "gated", 1.6,
                       (0.25, 0.4), 3.0, 0.35, 0.0),
    "90s": EraSettings((30, 50), None, None, (0.0, 0.0), (1.1, 1.6), "room", 0.6, (0.12, 0.2), 3.0, 0.1, 0.2),
    "00s": EraSettings((20, 35), None, None, (0.0, 0.0), (2.5, 5.0), "short", 0.3, (0.05, 0.12), 6.0, 0.2,
                       0.45),
}


def _between(range_: tuple[float, float], strength: float, rng: np.random.Generator) -> float:
    """A value in ``range_``: stronger production moves towards the era's extreme (the second value)."""
    fraction = float(np.clip(strength + rng.uniform(-0.15, 0.15), 0.0, 1.0))
    return range_[0] + (range_[1] - range_[0]) * fraction


def impulse_response(kind: str, seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A cheap synthetic reverb: decaying noise (plus a spring's chirp, or a gate), shape (n,) float32."""
    n = int(seconds * sample_rate)
    time = np.arange(n, dtype=np.float32) / sample_rate
    decay = np.exp(-6.9 * time / seconds)  # -60 dB at ``seconds``
    noise = rng.standard_normal(n).astype(np.float32)
    if kind == "spring":
        noise = noise + 3.0 * np.sin(2 * np.pi * (300 + 900 * time) * time)  # the boing of a spring tank
        noise = np.convolve(noise, np.ones(4) / 4, mode="same")  # darker
    elif kind == "plate":
        pass  # dense and bright
    elif kind == "gated":
        decay = np.where(time < 0.28, 1.0, decay * np.exp(-(time - 0.28) / 0.01))  # the 80s gated snare
    elif kind in ("room", "short"):
        noise = np.convolve(noise, np.ones(2) / 2, mode="same")
        early = (rng.uniform(0.005, 0.03, 6) * sample_rate).astype(int)
        noise[early] += 6.0
    response = noise * decay
    return (response / np.sqrt(np.sum(response ** 2) + 1e-12)).astype(np.float32)


def _compress(audio: np.ndarray, ratio: float, sample_rate: int) -> np.ndarray:
    """Downward compression above half the loudest level, gain computed on 10 ms blocks and interpolated."""
    if ratio <= 1.0:
        return audio
    block = max(1, int(0.01 * sample_rate))
    n_blocks = len(audio) // block
    if n_blocks < 2:
        return audio
    power = np.mean(audio[: n_blocks * block].reshape(n_blocks, block).astype(np.float64) ** 2, axis=1)
    envelope = np.sqrt(ndimage.uniform_filter1d(power, 3) + 1e-12)
    threshold = 0.5 * envelope.max()
    gain = np.where(envelope > threshold, (envelope / threshold) ** (1.0 / ratio - 1.0), 1.0)
    centers = (np.arange(n_blocks) + 0.5) * block
    return (audio * np.interp(np.arange(len(audio)), centers, gain)).astype(np.float32)


def apply_era(audio: np.ndarray, era: str, strength: float, sample_rate: int,
              rng: np.random.Generator) -> np.ndarray:
    """The era's production chain on a dry mix, shape (n,) -> (n,) float32 (not yet normalized)."""
    settings = ERA_SETTINGS[era]
    nyquist = sample_rate / 2
    n = len(audio)
    audio = audio / (np.abs(audio).max() + 1e-9)
    # reverb first: the room is part of the recording, the medium comes after
    response = impulse_response(settings.reverb, settings.reverb_seconds * rng.uniform(0.8, 1.2), sample_rate, rng)
    wet = _between(settings.wet, strength, rng)
    audio = (1 - wet) * audio + wet * 3.0 * signal.oaconvolve(audio, response)[:n].astype(np.float32)
    if settings.bass_boost:
        low = signal.sosfilt(signal.butter(2, 120 / nyquist, output="sos"), audio)
        audio = audio + settings.bass_boost * strength * low.astype(np.float32)
    if settings.brightness:
        high = signal.sosfilt(signal.butter(2, min(3000 / nyquist, 0.9), "highpass", output="sos"), audio)
        audio = audio + settings.brightness * strength * high.astype(np.float32)
    audio = _compress(audio, 1.0 + (settings.compression - 1.0) * strength, sample_rate)
    drive = _between(settings.drive, strength, rng)
    audio = audio / (np.abs(audio).max() + 1e-9)
    audio = np.tanh(drive * audio) / np.tanh(drive)
    wow = _between(settings.wow, strength, rng)
    if wow > 0:  # tape wow: a slow pitch wobble, done as a time warp
        rate = rng.uniform(0.4, 1.2)
        time = np.arange(n, dtype=np.float64)
        warp = time - wow * sample_rate / (2 * np.pi * rate) * np.sin(2 * np.pi * rate * time / sample_rate)
        audio = np.interp(warp, time, audio).astype(np.float32)
    highpass = _between(settings.highpass, strength, rng)
    sections = [signal.butter(2, highpass / nyquist, "highpass", output="sos")]
    if settings.lowpass is not None:
        lowpass = settings.lowpass[1] + settings.lowpass[0] - _between(settings.lowpass, strength, rng)
        if lowpass < 0.45 * sample_rate:
            sections.append(signal.butter(4, lowpass / nyquist, output="sos"))
    audio = signal.sosfilt(np.concatenate(sections), audio).astype(np.float32)
    # mastering varies from record to record whatever the era: a random tilt of lows and highs
    low = signal.sosfilt(signal.butter(1, 250 / nyquist, output="sos"), audio)
    high = signal.sosfilt(signal.butter(1, min(2500 / nyquist, 0.9), "highpass", output="sos"), audio)
    audio = (audio + rng.uniform(-0.4, 0.6) * low + rng.uniform(-0.5, 0.6) * high).astype(np.float32)
    if settings.hiss_db is not None:  # hiss after the band limit: it comes from the tape, full band
        level = 10 ** (_between(settings.hiss_db, strength, rng) / 20)
        hiss = rng.standard_normal(n).astype(np.float32)
        hiss[1:] = hiss[1:] - 0.5 * hiss[:-1]
        audio = audio + level * np.abs(audio).max() * hiss
    return audio.astype(np.float32)
