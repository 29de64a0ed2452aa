"""Log-mel front-end, the per-corpus feature cache, and excerpt sampling.

Three pieces, used in this order:

1. :class:`LogMelSpectrogram` (a Keras layer) and :func:`log_mel` (numpy in, numpy out) turn audio into the
   paper's input: a power mel spectrogram (Slaney mel scale and normalization, exactly as
   ``librosa.feature.melspectrogram`` with ``center=True``), compressed with ``log10(1 + 10 S)`` and
   z-scored with fixed statistics.
2. :func:`compute_features` runs the front-end once over every track of a corpus and keeps the whole-track
   log-mels in a :class:`FeatureStore` (one float16 array, tracks concatenated along time), cached on disk
   next to the corpus. Training then never touches audio: an excerpt is a slice of that array.
3. :func:`random_excerpt_starts` / :func:`fixed_excerpt_starts` choose excerpt positions and
   :meth:`FeatureStore.batch` gathers a training batch ``(B, 1, n_mels, n_frames)``.

Framing follows librosa's ``center=True`` with ``pad_mode="constant"`` (its default since 0.10): frame ``t``
is centered on sample ``t * hop_length`` and the signal is padded with zeros, so a track of ``n`` samples
has ``1 + n // hop_length`` frames. Zero padding also makes batching tracks of different lengths exact
(pad them with zeros to a common length, then drop the extra frames).

Tracks shorter than one excerpt are padded with the log-mel value of digital silence,
``(0 - mean) / std`` (:attr:`FrontendSettings.silence_value`), which is what the front-end would give for
zero-padded audio.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
import warnings
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import mdrbench  # noqa: F401  (sets KERAS_BACKEND=torch before keras is imported)
from mdrbench.errors import MdrbenchError

FEATURE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class FrontendSettings:
    """Log-mel settings. ``compact`` is the CPU default; ``paper`` is the ISMIR 2020 setting."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 64
    f_min: float = 0.0
    f_max: float | None = None
    excerpt_seconds: float = 3.0
    # log10(1 + 10 S), then (x - mean) / std with fixed statistics, as in the paper
    log_scale: float = 10.0
    mean: float = 0.2
    std: float = 0.25

    def __post_init__(self):
        problems = []
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
                problems.append(f"{name} must be a positive integer (got {value!r})")
        nyquist = self.sample_rate / 2 if isinstance(self.sample_rate, int | np.integer) else None
        f_max = self.f_max if self.f_max is not None else nyquist
        if not self.f_min >= 0:
            problems.append(f"f_min must be >= 0 Hz (got {self.f_min!r})")
        elif nyquist is not None and f_max is not None and not self.f_min < f_max <= nyquist:
            problems.append(f"need f_min < f_max <= sample_rate / 2 = {nyquist} Hz (got f_min={self.f_min}, "
                            f"f_max={self.f_max})")
        if not (self.excerpt_seconds > 0 and self.log_scale > 0 and self.std > 0):
            problems.append("excerpt_seconds, log_scale and std must be positive")
        if problems:
            raise ValueError("invalid FrontendSettings: " + "; ".join(problems) + ". Fix: start from a preset, "
                             "e.g. dataclasses.replace(FRONTENDS['compact'], ...).")

    @property
    def excerpt_frames(self) -> int:
        """Frames in one excerpt (centered STFT framing: 1 + samples // hop)."""
        return 1 + int(round(self.excerpt_seconds * self.sample_rate)) // self.hop_length

    @property
    def excerpt_samples(self) -> int:
        return int(round(self.excerpt_seconds * self.sample_rate))

    @property
    def silence_value(self) -> float:
        """The normalized log-mel of digital silence, used to pad tracks shorter than an excerpt."""
        return (0.0 - self.mean) / self.std

    def n_frames(self, n_samples: int) -> int:
        """Frames of a signal of ``n_samples`` samples."""
        return 1 + int(n_samples) // self.hop_length

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> FrontendSettings:
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown front-end settings {unknown}; expected some of "
                             f"{sorted(cls.__dataclass_fields__)}.")
        return cls(**values)


# "compact" (the CPU default): 16 kHz, 64 mels, 32 ms hop, so a 3-s excerpt is 64 x 94 (the paper's is
# 128 x 129, 2.7x more pixels for every convolution). Its fixed z-scoring statistics were measured on the
# synthetic ci corpus (mean 0.53, std 0.73 of log10(1 + 10 S)), so the network sees unit-scale inputs;
# "paper" keeps the paper's 0.2 / 0.25, measured on MSD audio.
FRONTENDS: dict[str, FrontendSettings] = {
    "compact": FrontendSettings(mean=0.53, std=0.73),
    "paper": FrontendSettings(sample_rate=22050, n_fft=2048, hop_length=512, n_mels=128),
}


def resolve_frontend(settings: FrontendSettings | str | dict) -> FrontendSettings:
    """Settings from a preset name (see :data:`FRONTENDS`), a dict (``to_dict()`` output) or settings."""
    if isinstance(settings, FrontendSettings):
        return settings
    if isinstance(settings, str):
        if settings not in FRONTENDS:
            raise ValueError(f"unknown front-end {settings!r}; choose one of {list(FRONTENDS)} "
                             f"or pass a FrontendSettings.")
        return FRONTENDS[settings]
    if isinstance(settings, dict):
        return FrontendSettings.from_dict(settings)
    raise TypeError(f"front-end settings must be a FrontendSettings, a preset name or a dict, "
                    f"not {type(settings).__name__}.")


# ---------------------------------------------------------------------------------------------- filterbank
def _hz_to_mel(frequencies: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (Auditory Toolbox, librosa's default): linear below 1 kHz, log above."""
    frequencies = np.asarray(frequencies, dtype=np.float64)
    linear_step = 200.0 / 3
    min_log_hz, min_log_mel, log_step = 1000.0, 1000.0 / linear_step, np.log(6.4) / 27.0
    mels = frequencies / linear_step
    above = frequencies >= min_log_hz
    mels[above] = min_log_mel + np.log(frequencies[above] / min_log_hz) / log_step
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    mels = np.asarray(mels, dtype=np.float64)
    linear_step = 200.0 / 3
    min_log_hz, min_log_mel, log_step = 1000.0, 1000.0 / linear_step, np.log(6.4) / 27.0
    frequencies = mels * linear_step
    above = mels >= min_log_mel
    frequencies[above] = min_log_hz * np.exp(log_step * (mels[above] - min_log_mel))
    return frequencies


def mel_filterbank(settings: FrontendSettings | str) -> np.ndarray:
    """Slaney-scale, Slaney-normalized triangular filters, identical to ``librosa.filters.mel``.

    Built in numpy (float64, then float32) so the package does not need librosa at run time.

    Returns:
        (n_mels, 1 + n_fft // 2) float32 weights; ``mel = weights @ power_spectrum``.
    """
    settings = resolve_frontend(settings)
    f_max = settings.f_max if settings.f_max is not None else settings.sample_rate / 2
    fft_frequencies = np.fft.rfftfreq(n=settings.n_fft, d=1.0 / settings.sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array([settings.f_min]))[0],
                                   _hz_to_mel(np.array([f_max]))[0], settings.n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_frequencies[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    # Slaney normalization: each triangle has unit area, so bands carry comparable energy
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    empty = np.flatnonzero((edges[:-2] > 0) & (weights.max(axis=1) == 0))
    if len(empty):
        warnings.warn(f"mel bands {empty.tolist()} cover no FFT bin (n_mels={settings.n_mels} is too many for "
                      f"n_fft={settings.n_fft}); they will always be silent. Fix: lower n_mels or raise n_fft.",
                      stacklevel=2)
    return weights.astype(np.float32)


def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window (``scipy.signal.get_window('hann', n_fft)``, librosa's window), float32."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


# ---------------------------------------------------------------------------------------------- torch core
_CONSTANTS: dict = {}


def _constants(settings: FrontendSettings, device):
    """Filterbank and window as torch tensors on ``device``, built once per (settings, device)."""
    import torch

    key = (settings, str(device))
    if key not in _CONSTANTS:
        _CONSTANTS[key] = (torch.as_tensor(mel_filterbank(settings), device=device),
                           torch.as_tensor(hann_window(settings.n_fft), device=device))
    return _CONSTANTS[key]


def _log_mel_torch(audio, settings: FrontendSettings):
    """(batch, samples) float32 torch tensor -> (batch, n_mels, frames) on the same device.

    The same work as librosa (FFT, |X|^2, one matmul with the filterbank), every step on the input's
    device. On CPU it runs about as fast as librosa and as the keras.ops version of the layer
    (benchmarks/bench_frontend.py); its point is that the same code runs on a GPU.
    """
    import torch

    filterbank, window = _constants(settings, audio.device)
    spectrum = torch.stft(audio, n_fft=settings.n_fft, hop_length=settings.hop_length, window=window,
                          center=True, pad_mode="constant", return_complex=True)
    power = spectrum.real.square() + spectrum.imag.square()  # |X|^2 without a sqrt (faster than abs())
    mel = torch.matmul(filterbank, power)
    return (torch.log10(1.0 + settings.log_scale * mel) - settings.mean) / settings.std


def _check_audio_array(audio, what: str = "audio") -> None:
    if audio.ndim not in (1, 2):
        raise ValueError(f"{what} has shape {tuple(audio.shape)}; expected (samples,) or (batch, samples) mono "
                         f"audio. Fix: average the channels (audio.mean(axis=-1)) or reshape.")
    if audio.shape[-1] == 0:
        raise ValueError(f"{what} has no samples (shape {tuple(audio.shape)}).")


def _nan_error(what: str = "audio") -> ValueError:
    return ValueError(f"{what} contains NaN or infinite samples; the log-mel would be NaN and poison training. "
                      f"Fix: clean the audio (e.g. np.nan_to_num) or drop the bad track.")


def log_mel(audio: np.ndarray, settings: FrontendSettings | str = "compact", device=None) -> np.ndarray:
    """Normalized log-mel spectrogram of mono audio, with the same code as :class:`LogMelSpectrogram`.

    Args:
        audio: (samples,) or (batch, samples) float audio at ``settings.sample_rate``.
        settings: a :class:`FrontendSettings` or a preset name in :data:`FRONTENDS`.
        device: torch device to compute on (default: CPU).

    Returns:
        (n_mels, n_frames) or (batch, n_mels, n_frames) float32, with n_frames = 1 + samples // hop_length.
    """
    import torch

    settings = resolve_frontend(settings)
    audio = np.asarray(audio, dtype=np.float32)
    _check_audio_array(audio)
    if not np.isfinite(audio).all():
        raise _nan_error()
    with torch.no_grad():
        tensor = torch.from_numpy(np.ascontiguousarray(audio))
        if device is not None:
            tensor = tensor.to(device)
        batch = tensor if tensor.ndim == 2 else tensor[None]
        result = _log_mel_torch(batch, settings).cpu().numpy()
    return result if audio.ndim == 2 else result[0]


# ---------------------------------------------------------------------------------------------- keras layer
import keras  # noqa: E402  (after mdrbench has fixed the backend)


@keras.saving.register_keras_serializable(package="mdrbench")
class LogMelSpectrogram(keras.layers.Layer):
    """Audio ``(batch, samples)`` -> normalized log-mel ``(batch, 1, n_mels, n_frames)``, channels first.

    The paper's front-end as a non-trainable layer, so that a model can take raw audio: power mel
    spectrogram (identical to ``librosa.feature.melspectrogram(center=True)``), ``log10(1 + log_scale S)``,
    then ``(x - mean) / std``. n_frames = 1 + samples // hop_length.

    On the torch backend it calls torch.stft and one matmul directly, on the input's device (GPU when the
    model is on GPU); on other backends it uses keras.ops (same numbers; on CPU about the same speed).

    Args:
        settings: a :class:`FrontendSettings`, a preset name in :data:`FRONTENDS`, or its ``to_dict()``.
        check_finite: raise a ValueError on NaN/inf audio. On an accelerator the check costs one device
            synchronization per batch; turn it off where inputs are known to be clean.
    """

    def __init__(self, settings: FrontendSettings | str | dict = "compact", check_finite: bool = True, **kwargs):
        kwargs.setdefault("trainable", False)
        # the STFT needs float32 even under a mixed-precision policy
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.settings = resolve_frontend(settings)
        self.check_finite = bool(check_finite)
        self._filterbank = mel_filterbank(self.settings)
        self._window = hann_window(self.settings.n_fft)

    def _check_shape(self, shape) -> None:
        if len(shape) != 2:
            raise ValueError(f"LogMelSpectrogram expects mono audio of shape (batch, samples), got shape "
                             f"{tuple(shape)}. Fix: add a batch axis with audio[None] for one clip, or average "
                             f"the channels of (batch, samples, channels) audio.")
        if shape[-1] is not None and shape[-1] == 0:
            raise ValueError("LogMelSpectrogram got audio with 0 samples.")

    def build(self, input_shape):
        self._check_shape(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_shape(input_shape)
        samples = input_shape[-1]
        frames = None if samples is None else self.settings.n_frames(samples)
        return (input_shape[0], 1, self.settings.n_mels, frames)

    def call(self, inputs):
        self._check_shape(inputs.shape)
        if keras.backend.backend() == "torch":
            import torch

            inputs = torch.as_tensor(inputs, dtype=torch.float32)
            if self.check_finite and inputs.device.type != "meta" and not torch.compiler.is_compiling():
                if not bool(torch.isfinite(inputs).all()):
                    raise _nan_error("LogMelSpectrogram input")
            return _log_mel_torch(inputs, self.settings)[:, None]
        return self._call_keras_ops(inputs)

    def _call_keras_ops(self, inputs):
        """Backend-agnostic version (keras.ops), for backends other than torch."""
        ops = keras.ops
        settings = self.settings
        inputs = ops.cast(inputs, "float32")
        half = settings.n_fft // 2
        padded = ops.pad(inputs, [[0, 0], [half, half]], mode="constant")
        real, imag = ops.stft(padded, settings.n_fft, settings.hop_length, settings.n_fft,
                              window=self._window, center=False)
        power = ops.square(real) + ops.square(imag)  # (batch, frames, bins)
        mel = ops.einsum("btf,mf->bmt", power, ops.convert_to_tensor(self._filterbank))
        output = (ops.log10(1.0 + settings.log_scale * mel) - settings.mean) / settings.std
        return ops.expand_dims(output, 1)

    def get_config(self):
        config = super().get_config()
        config.update(settings=self.settings.to_dict(), check_finite=self.check_finite)
        return config


# ---------------------------------------------------------------------------------------------- feature store
class FeatureCacheError(MdrbenchError, ValueError):
    """A feature cache on disk is missing, stale or corrupt (it is then rebuilt, never used)."""


class FeatureStore:
    """Log-mel features of every track of a corpus, concatenated along time.

    Args:
        values: (total_frames, n_mels) float16 or float32, tracks one after another (may be a memmap).
        offsets: (n_tracks + 1,) int64, track i spans values[offsets[i]:offsets[i+1]].
        settings: the front-end settings that produced the values.
        window_starts: optional (n_tracks,) seconds: where in each track's audio the stored features begin
            (feature extraction keeps a bounded window per track); default zeros. Frame ``t`` of track ``i``
            is centred on second ``window_starts[i] + t * hop_length / sample_rate`` of the track.
        skipped: optional list of ``{"index", "track_id", "path", "error"}`` for tracks whose audio could
            not be decoded (extraction with ``skip_errors=True``); each holds one frame of silence.
    """

    def __init__(self, values: np.ndarray, offsets: np.ndarray, settings: FrontendSettings,
                 window_starts: np.ndarray | None = None, skipped: list[dict] | None = None):
        self.values = values
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.settings = settings
        self.window_starts = (np.zeros(len(self.offsets) - 1) if window_starts is None
                              else np.asarray(window_starts, dtype=np.float64))
        self.skipped = list(skipped or [])

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __repr__(self) -> str:
        return (f"FeatureStore({len(self)} tracks, {int(self.offsets[-1])} frames x {self.n_mels} mels, "
                f"{self.values.dtype}, {self.values.nbytes / 2**20:.1f} MiB)")

    @property
    def n_mels(self) -> int:
        return int(self.values.shape[1])

    @property
    def lengths(self) -> np.ndarray:
        """Frames per track, shape (n_tracks,)."""
        return np.diff(self.offsets)

    def track(self, index: int) -> np.ndarray:
        """Whole-track log-mel, shape (n_mels, n_frames) float32."""
        return np.asarray(self.values[self.offsets[index]:self.offsets[index + 1]], dtype=np.float32).T

    def excerpt(self, index: int, start: int, n_frames: int) -> np.ndarray:
        """An excerpt of ``n_frames`` frames from frame ``start``, shape (n_mels, n_frames) float32.

        A track shorter than ``n_frames`` gives its whole log-mel (``start`` must be 0) padded on the right
        with :attr:`FrontendSettings.silence_value`.
        """
        length = int(self.lengths[index])
        if start < 0 or start + n_frames > max(length, n_frames) or (length < n_frames and start != 0):
            raise IndexError(f"excerpt [{start}, {start + n_frames}) outside track {index} "
                             f"of {self.lengths[index]} frames")
        begin = self.offsets[index] + start
        if length >= n_frames:
            return np.asarray(self.values[begin:begin + n_frames], dtype=np.float32).T
        excerpt = np.full((self.n_mels, n_frames), self.settings.silence_value, dtype=np.float32)
        excerpt[:, :length] = np.asarray(self.values[begin:begin + length], dtype=np.float32).T
        return excerpt

    def batch(self, indices: np.ndarray, starts: np.ndarray, n_frames: int | None = None) -> np.ndarray:
        """Excerpts of several tracks as one model input.

        Args:
            indices: (B,) track indices.
            starts: (B,) first frame of each excerpt, in [0, max(length - n_frames, 0)]
                (from :func:`random_excerpt_starts` or :func:`fixed_excerpt_starts`).
            n_frames: excerpt length (default: ``settings.excerpt_frames``).

        Returns:
            (B, 1, n_mels, n_frames) float32; frames past the end of a short track hold silence_value.
        """
        n_frames = self.settings.excerpt_frames if n_frames is None else int(n_frames)
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        if indices.shape != starts.shape:
            raise ValueError(f"got {len(indices)} track indices but {len(starts)} starts; give one start each.")
        if len(indices) and (indices.min() < 0 or indices.max() >= len(self)):
            raise IndexError(f"track indices must be in [0, {len(self)}); got {indices.min()}..{indices.max()}.")
        lengths = self.lengths[indices]
        bad = (starts < 0) | (starts > np.maximum(lengths - n_frames, 0))
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise IndexError(f"excerpt start {starts[first]} of track {indices[first]} ({lengths[first]} frames) "
                             f"leaves no room for {n_frames} frames. Fix: draw starts with "
                             f"random_excerpt_starts(store.lengths[indices], {n_frames}, rng).")
        import torch

        # Contiguous (n_frames, n_mels) slices into one buffer, then a single transposing float32
        # conversion by torch: as fast or faster (up to 2.5x) than copying each transposed slice with numpy
        # or than one fancy-index gather (benchmarks/bench_frontend.py).
        buffer = np.empty((len(indices), n_frames, self.n_mels), dtype=self.values.dtype)
        short = []
        begins = self.offsets[indices] + starts
        for row, (begin, length) in enumerate(zip(begins.tolist(), lengths.tolist(), strict=True)):
            if length >= n_frames:
                buffer[row] = self.values[begin:begin + n_frames]
            else:
                buffer[row, :length] = self.values[begin:begin + length]
                short.append((row, length))
        output = torch.from_numpy(buffer).transpose(1, 2).to(torch.float32).contiguous().unsqueeze(1).numpy()
        for row, length in short:
            output[row, 0, :, length:] = self.settings.silence_value
        return output

    # ------------------------------------------------------------------------------------------ disk
    def save(self, folder: str | Path, key: str = "", meta: dict | None = None) -> None:
        """Write ``values.npy``, ``offsets.npy`` and ``meta.json`` to ``folder`` atomically.

        Files go to a temporary sibling folder that is renamed into place, so a crash never leaves a
        half-written cache where :meth:`load` would look.
        """
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        temporary = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
        temporary.mkdir()
        try:
            values = np.lib.format.open_memmap(temporary / "values.npy", mode="w+", dtype=self.values.dtype,
                                               shape=self.values.shape)
            checksum = 0
            for begin in range(0, len(self.values), _CHUNK_ROWS):
                chunk = np.ascontiguousarray(self.values[begin:begin + _CHUNK_ROWS])
                if not np.isfinite(chunk).all():
                    raise ValueError("feature values contain NaN or inf; refusing to cache them.")
                values[begin:begin + len(chunk)] = chunk
                checksum = zlib.crc32(chunk, checksum)
            values.flush()
            del values
            np.save(temporary / "offsets.npy", self.offsets)
            description = {
                "format_version": FEATURE_FORMAT_VERSION, "key": key, "settings": self.settings.to_dict(),
                "n_tracks": len(self), "total_frames": int(self.offsets[-1]), "n_mels": self.n_mels,
                "dtype": str(self.values.dtype), "crc32": checksum, **(meta or {}),
                # where each track's features begin in its audio (all zero unless tracks were cut)
                "window_starts": np.round(self.window_starts, 6).tolist() if self.window_starts.any() else None,
                "skipped": self.skipped,
            }
            (temporary / "meta.json").write_text(json.dumps(description, indent=2))
            if folder.exists():
                old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
                folder.rename(old)
                shutil.rmtree(old, ignore_errors=True)
            temporary.rename(folder)
        finally:
            if temporary.exists():
                shutil.rmtree(temporary, ignore_errors=True)

    @classmethod
    def load(cls, folder: str | Path, key: str | None = None, verify: bool = True) -> FeatureStore:
        """Open a cache written by :meth:`save` (values memory-mapped), validating everything.

        Args:
            folder: the cache folder.
            key: when given, the cache must have been written for this key (settings + corpus).
            verify: recompute the CRC32 of the values (reads the whole file once; catches corruption and NaN).

        Raises:
            FeatureCacheError: naming what is wrong; the caller rebuilds the cache.
        """
        folder = Path(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except FileNotFoundError:
            raise FeatureCacheError(f"{folder}: no meta.json (no cache there yet).") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise FeatureCacheError(f"{folder / 'meta.json'}: not valid JSON ({error}).") from None
        version = meta.get("format_version") if isinstance(meta, dict) else None
        if version != FEATURE_FORMAT_VERSION:
            raise FeatureCacheError(f"{folder / 'meta.json'}: format version {version!r} is not "
                                    f"{FEATURE_FORMAT_VERSION}.")
        if key is not None and meta.get("key") != key:
            raise FeatureCacheError(f"{folder}: cache key {meta.get('key')!r} does not match {key!r} "
                                    f"(settings or corpus changed).")
        try:
            settings = FrontendSettings.from_dict(meta["settings"])
            n_tracks, total, n_mels = int(meta["n_tracks"]), int(meta["total_frames"]), int(meta["n_mels"])
            dtype, checksum = np.dtype(meta["dtype"]), int(meta["crc32"])
            offsets = np.load(folder / "offsets.npy", allow_pickle=False)
            values = np.load(folder / "values.npy", allow_pickle=False, mmap_mode="r")
        except (KeyError, TypeError, ValueError, OSError, EOFError) as error:
            raise FeatureCacheError(f"{folder}: unreadable cache ({type(error).__name__}: {error}).") from None
        if offsets.dtype != np.int64 or offsets.shape != (n_tracks + 1,):
            raise FeatureCacheError(f"{folder / 'offsets.npy'}: {offsets.dtype} {offsets.shape}, expected int64 "
                                    f"({n_tracks + 1},).")
        if offsets[0] != 0 or offsets[-1] != total or np.any(np.diff(offsets) <= 0):
            raise FeatureCacheError(f"{folder / 'offsets.npy'}: offsets must rise strictly from 0 to {total}.")
        if values.dtype != dtype or values.shape != (total, n_mels) or n_mels != settings.n_mels:
            raise FeatureCacheError(f"{folder / 'values.npy'}: {values.dtype} {values.shape}, expected {dtype} "
                                    f"({total}, {settings.n_mels}).")
        window_starts, skipped = meta.get("window_starts"), meta.get("skipped") or []
        if window_starts is not None and (not isinstance(window_starts, list) or len(window_starts) != n_tracks):
            raise FeatureCacheError(f"{folder / 'meta.json'}: window_starts must list {n_tracks} numbers.")
        if not isinstance(skipped, list):
            raise FeatureCacheError(f"{folder / 'meta.json'}: skipped must be a list.")
        if verify:
            found = 0
            for begin in range(0, total, _CHUNK_ROWS):
                found = zlib.crc32(np.ascontiguousarray(values[begin:begin + _CHUNK_ROWS]), found)
            if found != checksum:
                raise FeatureCacheError(f"{folder / 'values.npy'}: checksum mismatch (file corrupted).")
        return cls(values, offsets, settings, window_starts=window_starts, skipped=skipped)


_CHUNK_ROWS = 1 << 16


# ---------------------------------------------------------------------------------------------- the cache
DEFAULT_MAX_SECONDS = 30.0  # feature extraction keeps at most this much of each track (centred)
_PART_ROWS = 1 << 17  # frames per resumable part file (16 MiB at 64 mels in float16): a kill loses at most one


def _window_description(max_seconds: float | None, offset: str | float) -> dict | None:
    from mdrbench.audio import CENTRE_SPELLINGS, check_window

    check_window(max_seconds, offset)
    if max_seconds is None:
        return None
    where = "centre" if offset in CENTRE_SPELLINGS else offset if isinstance(offset, str) else float(offset)
    return {"max_seconds": float(max_seconds), "offset": where}


def feature_key(corpus, settings: FrontendSettings | str, max_seconds: float | None = DEFAULT_MAX_SECONDS,
                offset: str | float = "centre") -> str:
    """Cache key: a hash of the front-end settings, the window kept per track and ``corpus.fingerprint()``."""
    settings = resolve_frontend(settings)
    text = json.dumps({"format_version": FEATURE_FORMAT_VERSION, "settings": settings.to_dict(),
                       "window": _window_description(max_seconds, offset), "corpus": corpus.fingerprint()},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class _Extraction:
    """What extraction produced so far: (rows, n_mels) float16 chunks, and per track its frames, its
    window start (seconds) and, for an undecodable track, a ``skipped`` entry."""

    chunks: list
    lengths: list
    window_starts: list
    skipped: list

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths, dtype=np.int64)]).astype(np.int64)


class _PartFolder:
    """The finished parts of an extraction in progress, so that a killed run resumes where it stopped.

    Each part is ``part-FIRSTTRACK.npy`` (its tracks' float16 log-mels, concatenated) and ``part-FIRSTTRACK.json``
    (cache key, track range, frames and window start per track, skipped tracks, CRC32), both written to a
    temporary name and renamed, the JSON last: a part counts only once its JSON exists.
    """

    def __init__(self, folder: Path, key: str, n_mels: int):
        self.folder, self.key, self.n_mels = Path(folder), key, n_mels

    def resume(self) -> list[dict]:
        """Valid parts covering tracks 0, 1, ... without gaps, values memory-mapped; anything else is deleted."""
        if not self.folder.is_dir():
            return []
        kept, expected_first = [], 0
        for description_path in sorted(self.folder.glob("part-*.json")):
            record = self._read(description_path)
            if record is None or record["first"] != expected_first:
                break
            kept.append(record)
            expected_first = record["end"]
        names = {f"part-{r['first']:08d}.{extension}" for r in kept for extension in ("npy", "json")}
        for path in self.folder.iterdir():
            if path.name not in names:
                path.unlink(missing_ok=True)
        return kept

    def _read(self, description_path: Path) -> dict | None:
        try:
            record = json.loads(description_path.read_text())
            if record.get("key") != self.key:
                return None
            values = np.load(description_path.with_suffix(".npy"), mmap_mode="r", allow_pickle=False)
            lengths = [int(n) for n in record["lengths"]]
            if (values.dtype != np.float16 or values.shape != (sum(lengths), self.n_mels)
                    or len(record["window_starts"]) != len(lengths) or record["end"] - record["first"] != len(lengths)):
                return None
            checksum = 0
            for begin in range(0, len(values), _CHUNK_ROWS):
                checksum = zlib.crc32(np.ascontiguousarray(values[begin:begin + _CHUNK_ROWS]), checksum)
            if checksum != record["crc32"]:
                return None
        except (OSError, ValueError, KeyError, TypeError, EOFError):
            return None
        return {**record, "values": values, "lengths": lengths}

    def write(self, first: int, values: np.ndarray, lengths: list, window_starts: list, skipped: list) -> dict:
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = self.folder / f"part-{first:08d}"
        temporary = self.folder / f".part-{first:08d}.tmp-{uuid.uuid4().hex[:8]}"
        values = np.ascontiguousarray(values, dtype=np.float16)
        with open(temporary, "wb") as handle:
            np.save(handle, values, allow_pickle=False)
        os.replace(temporary, stem.with_suffix(".npy"))
        record = {"key": self.key, "first": first, "end": first + len(lengths), "lengths": [int(n) for n in lengths],
                  "window_starts": [float(w) for w in window_starts], "skipped": skipped,
                  "crc32": zlib.crc32(values)}
        temporary.write_text(json.dumps(record))
        os.replace(temporary, stem.with_suffix(".json"))
        return {**record, "values": np.load(stem.with_suffix(".npy"), mmap_mode="r", allow_pickle=False)}

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _compute_values(corpus, settings: FrontendSettings, progress: bool, batch_seconds: float, device, *,
                    max_seconds: float | None = DEFAULT_MAX_SECONDS, offset: str | float = "centre",
                    skip_errors: bool = False, parts: _PartFolder | None = None) -> _Extraction:
    """Log-mel of every track, in track order, resuming from ``parts`` and writing new parts as it goes.

    Audio is read through :meth:`Corpus.audio`: only the kept window, resampled to the front-end's rate.
    Whatever stops the loop (an undecodable file, Ctrl-C), the finished tracks are written as a part first.
    """
    from tqdm.auto import tqdm

    from mdrbench.corpus import CorpusError

    extraction = _Extraction([], [], [], [])
    for record in parts.resume() if parts is not None else []:
        extraction.chunks.append(record["values"])
        extraction.lengths += record["lengths"]
        extraction.window_starts += record["window_starts"]
        extraction.skipped += record["skipped"]
    first_new = len(extraction.lengths)

    done: list[tuple[np.ndarray, float, dict | None]] = []  # computed tracks not yet in a part
    pending: list[tuple[np.ndarray | None, float, dict | None]] = []  # tracks waiting for the front-end

    def flush():
        decoded = [audio for audio, _, _ in pending if audio is not None]
        features = None
        if decoded:
            # zero-padding to a common length is exact under constant-padded centered frames
            batch = np.zeros((len(decoded), max(len(audio) for audio in decoded)), dtype=np.float32)
            for row, audio in enumerate(decoded):
                batch[row, :len(audio)] = audio
            features = log_mel(batch, settings, device=device)
        row = 0
        for audio, start, skipped in pending:
            if audio is None:  # an undecodable track keeps its place with one frame of silence
                done.append((np.full((1, settings.n_mels), settings.silence_value, np.float16), 0.0, skipped))
                continue
            frames = settings.n_frames(len(audio))
            done.append((features[row, :, :frames].T.astype(np.float16), start, None))
            row += 1
        pending.clear()

    def close_part():
        if not done:
            return
        first = len(extraction.lengths)
        values = np.concatenate([features for features, _, _ in done])
        lengths = [len(features) for features, _, _ in done]
        starts = [start for _, start, _ in done]
        skipped = [entry for _, _, entry in done if entry is not None]
        chunk = values if parts is None else parts.write(first, values, lengths, starts, skipped)["values"]
        extraction.chunks.append(chunk)
        extraction.lengths += lengths
        extraction.window_starts += starts
        extraction.skipped += skipped
        done.clear()

    budget = max(1, int(batch_seconds * settings.sample_rate))
    rows_in_part = 0
    bar = tqdm(range(first_new, len(corpus)), total=len(corpus), initial=first_new, unit="track",
               desc=f"log-mel {corpus.name}", disable=not progress)
    try:
        for index in bar:
            track = f"track {index} ({corpus.track_ids[index]})"
            try:
                audio, start = corpus.audio(index, sample_rate=settings.sample_rate, max_seconds=max_seconds,
                                            offset=offset, return_start=True)
            except CorpusError as error:
                if not skip_errors:
                    raise
                path = None if corpus.audio_paths is None else str(corpus.audio_paths[index])
                pending.append((None, 0.0, {"index": index, "track_id": str(corpus.track_ids[index]),
                                            "path": path, "error": str(error)}))
                rows_in_part += 1
                continue
            audio = np.asarray(audio, dtype=np.float32)
            if audio.ndim != 1 or len(audio) == 0:
                raise ValueError(f"{track}: audio of shape {audio.shape}; expected non-empty mono (samples,).")
            if not np.isfinite(audio).all():
                raise _nan_error(track)
            decoded = [a for a, _, _ in pending if a is not None]
            if decoded and max(len(a) for a in decoded + [audio]) * (len(decoded) + 1) > budget:
                flush()
            pending.append((audio, start, None))
            rows_in_part += settings.n_frames(len(audio))
            if rows_in_part >= _PART_ROWS:
                flush()
                close_part()
                rows_in_part = 0
    except BaseException:
        # keep the finished work: compute what is pending, write it as a part, then re-raise
        if parts is not None:
            try:
                flush()
            except Exception:  # noqa: BLE001  (the original error is the one to report)
                pending.clear()
            close_part()
        raise
    finally:
        bar.close()
    flush()
    close_part()
    return extraction


def _skipped_message(skipped: list[dict]) -> str:
    first = skipped[0]
    return (f"{len(skipped)} track(s) could not be decoded and hold one frame of silence, e.g. track "
            f"{first['track_id']!r}: {first['error']}")


def compute_features(corpus, settings: FrontendSettings | str = "compact", cache_dir: str | Path | bool | None = None,
                     progress: bool = True, batch_seconds: float = 30.0, device=None,
                     max_seconds: float | None = DEFAULT_MAX_SECONDS, offset: str | float = "centre",
                     skip_errors: bool = False) -> FeatureStore:
    """Log-mels of a bounded window of every track of ``corpus``, cached on disk, resumable.

    Audio files at any rate and channel count are down-mixed and resampled (soxr) to the front-end's rate on
    load (:func:`mdrbench.audio.load_audio`); in-memory audio (a freshly synthesized corpus) must already be
    at that rate. Of each track at most ``max_seconds`` are kept (default 30 s, centred; only that window is
    read from disk), so the cache grows with the number of tracks, not with their length: at the compact
    front-end 30 s is 938 frames x 64 mels x 2 bytes = 120 KB per track.

    Extraction writes finished parts as it goes (in a hidden ``.KEY.partial`` folder beside the cache): a
    run that is killed or hits an undecodable file resumes at the first unfinished track.

    Args:
        corpus: a :class:`~mdrbench.corpus.Corpus`.
        settings: a :class:`FrontendSettings` or a preset name in :data:`FRONTENDS`.
        cache_dir: the cache folder. Default: ``corpus.root / "features" / key`` for a corpus folder
            (with corpus.json), ``$MDRBENCH_HOME/features/key`` for audio read in place, no cache for an
            in-memory corpus; ``False`` disables caching. A cache that is stale (other settings,
            window or corpus) or corrupt is rebuilt with a warning, never used.
        progress: show a tqdm bar while computing.
        batch_seconds: audio (zero-padded, in seconds) per front-end call: groups short tracks into one
            call and bounds memory. Results do not depend on it (zero padding is exact); speed barely.
        device: torch device for the front-end (default CPU; e.g. "cuda" for a large corpus).
        max_seconds: keep at most this many seconds per track (None: whole tracks).
        offset: where the kept window sits: "centre", "start" or seconds from the start.
        skip_errors: an undecodable file does not stop extraction: the track holds one frame of silence and
            is listed in ``store.skipped`` (index, track id, path, error) and in the cache's meta.json, with
            a warning. Without it the first such file raises :class:`~mdrbench.audio.AudioError`, after the
            finished tracks were written.

    Returns:
        a :class:`FeatureStore` with float16 values (memory-mapped when cached), ``window_starts`` (seconds
        into each track where its features begin) and ``skipped``.
    """
    settings = resolve_frontend(settings)
    window = _window_description(max_seconds, offset)
    if getattr(corpus, "_audio", None) is not None and int(corpus.sample_rate) != settings.sample_rate:
        raise ValueError(f"corpus {corpus.name!r} is sampled at {corpus.sample_rate} Hz but the front-end expects "
                         f"{settings.sample_rate} Hz. Fix: pick the matching front-end (e.g. "
                         f"{[name for name, s in FRONTENDS.items() if s.sample_rate == corpus.sample_rate]}) "
                         f"or regenerate the corpus at {settings.sample_rate} Hz (audio files, unlike in-memory "
                         f"audio, are resampled on load).")
    if len(corpus) == 0:
        raise ValueError("the corpus has no tracks.")
    options = {"max_seconds": max_seconds, "offset": offset, "skip_errors": skip_errors}
    key = feature_key(corpus, settings, max_seconds, offset)
    if cache_dir is None and corpus.root is not None:
        cache_dir = _default_cache_dir(Path(corpus.root), key)
    if cache_dir is False or cache_dir is None:
        extraction = _compute_values(corpus, settings, progress, batch_seconds, device, **options)
        store = FeatureStore(np.concatenate(extraction.chunks), extraction.offsets, settings,
                             extraction.window_starts, extraction.skipped)
        return _checked_skips(store, skip_errors, "")
    cache_dir = Path(cache_dir)
    if cache_dir.exists():
        try:
            store = FeatureStore.load(cache_dir, key=key)
            if len(store) == len(corpus):
                return _checked_skips(store, skip_errors, cache_dir)
            raise FeatureCacheError(f"{cache_dir}: {len(store)} tracks cached, the corpus has {len(corpus)}.")
        except FeatureCacheError as error:
            warnings.warn(f"rebuilding the feature cache: {error}", stacklevel=2)
    parts = _PartFolder(cache_dir.parent / f".{cache_dir.name}.partial", key, settings.n_mels)
    extraction = _compute_values(corpus, settings, progress, batch_seconds, device, parts=parts, **options)
    store = FeatureStore(_ConcatenatedChunks(extraction.chunks, settings.n_mels), extraction.offsets, settings,
                         extraction.window_starts, extraction.skipped)
    store.save(cache_dir, key=key, meta={"corpus_fingerprint": corpus.fingerprint(), "corpus_name": corpus.name,
                                         "window": window, "created_by": f"mdrbench pid {os.getpid()}"})
    parts.remove()
    return _checked_skips(FeatureStore.load(cache_dir, key=key, verify=False), skip_errors, cache_dir)


def cache_folder(corpus, settings: FrontendSettings | str = "compact", max_seconds: float | None = DEFAULT_MAX_SECONDS,
                 offset: str | float = "centre") -> Path | None:
    """Where :func:`compute_features` keeps this corpus's features by default (None for an in-memory corpus)."""
    if corpus.root is None:
        return None
    return _default_cache_dir(Path(corpus.root), feature_key(corpus, resolve_frontend(settings), max_seconds, offset))


def _default_cache_dir(root: Path, key: str) -> Path:
    """Beside a corpus folder mdrbench wrote (it has corpus.json); never inside someone's music folder (a
    folder read in place by :mod:`mdrbench.sources`), whose cache goes to ``$MDRBENCH_HOME/features``."""
    from mdrbench.paths import home

    return root / "features" / key if (root / "corpus.json").is_file() else home() / "features" / key


def _checked_skips(store: FeatureStore, skip_errors: bool, where) -> FeatureStore:
    """Warn about skipped tracks, or refuse a cache that holds some when the caller did not ask to skip."""
    from mdrbench.audio import AudioError

    if not store.skipped:
        return store
    if len(store.skipped) == len(store):
        raise AudioError(f"no track could be decoded: {_skipped_message(store.skipped)}")
    if not skip_errors:
        raise AudioError(f"{where or 'features'}: {_skipped_message(store.skipped)}. Fix: pass skip_errors=True "
                         f"to use the other tracks, or repair the files (the cache is then rebuilt).")
    warnings.warn(f"{_skipped_message(store.skipped)}; the list is in store.skipped"
                  + (f" and {Path(where) / 'meta.json'}" if where else "") + ".", stacklevel=3)
    return store


class _ConcatenatedChunks:
    """Row-slicing view over a list of (rows, n_mels) arrays (memory-mapped parts, say), so saving never holds
    two full copies."""

    def __init__(self, chunks: list[np.ndarray], n_mels: int):
        self.chunks = chunks
        self.shape = (sum(len(c) for c in chunks), n_mels)
        self.dtype = chunks[0].dtype
        self.starts = np.concatenate([[0], np.cumsum([len(c) for c in chunks])])

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: slice) -> np.ndarray:
        begin, end, _ = rows.indices(self.shape[0])
        first = max(int(np.searchsorted(self.starts, begin, side="right")) - 1, 0)
        last = int(np.searchsorted(self.starts, end, side="left"))
        # slice each chunk before joining: only the requested rows are read from a memory-mapped part
        pieces = [self.chunks[i][max(begin - self.starts[i], 0):end - self.starts[i]] for i in range(first, last)]
        return np.concatenate(pieces) if pieces else np.empty((0, self.shape[1]), self.dtype)


# ---------------------------------------------------------------------------------------------- excerpts
def random_excerpt_starts(lengths: np.ndarray, n_frames: int, rng: np.random.Generator | int | None) -> np.ndarray:
    """Uniform random excerpt starts, one per track.

    Args:
        lengths: (n,) frames per track (e.g. ``store.lengths[indices]``).
        n_frames: excerpt length in frames.
        rng: a numpy Generator or a seed.

    Returns:
        (n,) int64 starts in [0, max(length - n_frames, 0)]; a track shorter than an excerpt starts at 0
        (:meth:`FeatureStore.batch` pads it with silence).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if n_frames <= 0:
        raise ValueError(f"n_frames must be positive, got {n_frames}.")
    rng = np.random.default_rng(rng)
    room = np.maximum(lengths - int(n_frames), 0)
    return np.floor(rng.random(lengths.shape) * (room + 1)).astype(np.int64)


def fixed_excerpt_starts(lengths: np.ndarray, n_frames: int, per_track: int = 1) -> np.ndarray:
    """Deterministic, evenly spaced excerpt starts (for evaluation).

    Excerpt j of k sits at the center of the j-th of k equal parts of the possible start range, so
    ``per_track=1`` gives the centered excerpt.

    Returns:
        (n, per_track) int64 starts in [0, max(length - n_frames, 0)].
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if n_frames <= 0 or per_track <= 0:
        raise ValueError(f"n_frames and per_track must be positive, got {n_frames} and {per_track}.")
    room = np.maximum(lengths - int(n_frames), 0)
    positions = (2 * np.arange(per_track) + 1) / (2 * per_track)
    return np.floor(room[:, None] * positions[None, :] + 0.5).astype(np.int64).clip(0, room[:, None])
