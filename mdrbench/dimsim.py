"""Similarity triplets in the Dim-Sim CSV schema: voted by simulated raters, or read from the real file.

Dim-Sim (Lee et al., ICASSP 2020) asked 5-12 people per triplet which of two 3-second clips (song1, song2)
sounds more similar to an anchor clip, with no instruction about which aspect to listen to. We imitate it
on a synthetic corpus: every simulated rater has private weights over the four categories (drawn from a
flat Dirichlet: some listen mostly to genre, others to the instrument...) and a little noise, and rates
similarity as the weighted count of shared clean factors. The result is written in Dim-Sim's schema, so
the real file (Zenodo record 3889149) drops in unchanged for evaluation on real audio.

Reading the real file: :func:`read_triplets` checks it row by row, :func:`triplets_in_corpus` keeps the
triplets whose MSD clips you hold (mapping ids if your corpus names tracks otherwise), :func:`triplet_indices`
turns them into corpus indices (positive = the clip with more votes) and :func:`clip_frames` turns clip
starts in seconds into frames of the resampled, windowed features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mdrbench.corpus import CATEGORIES, Corpus, CorpusError

COLUMNS: tuple[str, ...] = (
    "triplet_id", "anchor_id", "anchor_start_seconds", "anchor_start_samples", "song1_id", "song1_start_seconds",
    "song1_start_samples", "song2_id", "song2_start_seconds", "song2_start_samples", "sampling_rate",
    "clip_lengths_seconds", "clip_lengths_samples", "song1_vote", "song2_vote",
)
_ID_COLUMNS = ("anchor_id", "song1_id", "song2_id")
_INTEGER_COLUMNS = ("anchor_start_samples", "song1_start_samples", "song2_start_samples",
                    "sampling_rate", "clip_lengths_samples", "song1_vote", "song2_vote")
START_TOLERANCE_SECONDS = 0.01  # starts in seconds may be rounded in the file; samples are exact
CLEAN_AGREEMENT = 0.9  # Dim-Sim's clean subset: at least 90% of the raters agree
RATER_NOISE = 0.15  # std of the noise added to each rater's similarity difference


def _check_columns(frame: pd.DataFrame, where: str) -> None:
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"{where}: missing Dim-Sim columns {missing}. Fix: the file needs exactly these "
                         f"columns: {', '.join(COLUMNS)}.")


def simulate_triplets(corpus: Corpus, n_triplets: int, split: str = "test",
                      n_raters_range: tuple[int, int] = (5, 12), clip_seconds: float = 3.0,
                      seed: int = 0) -> pd.DataFrame:
    """Simulated Dim-Sim triplets on the tracks of one split of a synthetic corpus.

    Each triplet takes three distinct tracks, a random clip start inside each, and between
    ``n_raters_range[0]`` and ``n_raters_range[1]`` raters (inclusive). A rater with weights w over the
    categories votes for the song whose similarity sum_c w_c [factor_c(song) == factor_c(anchor)], plus
    Gaussian noise (std 0.15 on the difference), is higher.

    Returns:
        DataFrame with the 15 Dim-Sim columns, one row per triplet; votes are counts.
    """
    if corpus.factors is None:
        raise CorpusError("simulated triplets need the clean factors of a synthetic corpus (corpus.factors is "
                          "None). Fix: use mdrbench.synth.synthesize / ensure_corpus, or read real triplets.")
    low, high = n_raters_range
    if not 1 <= low <= high:
        raise ValueError(f"n_raters_range must be (low, high) with 1 <= low <= high, got {n_raters_range}.")
    candidates = corpus.split_indices(split)
    if len(candidates) < 3:
        raise ValueError(f"split {split!r} has {len(candidates)} tracks; a triplet needs 3 distinct tracks.")
    clip_samples = int(round(clip_seconds * corpus.sample_rate))
    too_short = corpus.durations[candidates] * corpus.sample_rate < clip_samples
    if too_short.any():
        raise ValueError(f"{int(too_short.sum())} tracks of split {split!r} are shorter than a {clip_seconds} s "
                         f"clip. Fix: choose a shorter clip_seconds.")
    rng = np.random.default_rng(seed)
    codes = np.stack([pd.factorize(corpus.factors[c])[0] for c in CATEGORIES], axis=1)  # (n_tracks, 4)
    rows = []
    for triplet in range(n_triplets):
        tracks = rng.choice(candidates, size=3, replace=False)
        max_starts = np.floor(corpus.durations[tracks] * corpus.sample_rate).astype(np.int64) - clip_samples
        starts = np.array([rng.integers(0, m + 1) for m in max_starts])
        n_raters = int(rng.integers(low, high + 1))
        weights = rng.dirichlet(np.ones(len(CATEGORIES)), size=n_raters)  # (n_raters, 4)
        shared1 = (codes[tracks[1]] == codes[tracks[0]]).astype(float)
        shared2 = (codes[tracks[2]] == codes[tracks[0]]).astype(float)
        preference = weights @ (shared1 - shared2) + rng.normal(0.0, RATER_NOISE, n_raters)
        votes1 = int((preference > 0).sum())
        row = {"triplet_id": triplet}
        for role, track, start in zip(("anchor", "song1", "song2"), tracks, starts, strict=True):
            row[f"{role}_id"] = corpus.track_ids[track]
            row[f"{role}_start_seconds"] = start / corpus.sample_rate
            row[f"{role}_start_samples"] = int(start)
        row.update(sampling_rate=int(corpus.sample_rate), clip_lengths_seconds=float(clip_seconds),
                   clip_lengths_samples=clip_samples, song1_vote=votes1, song2_vote=n_raters - votes1)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def agreement_share(triplets: pd.DataFrame) -> np.ndarray:
    """Share of the votes the majority clip got, shape (n_triplets,); 0 for a triplet without votes."""
    _check_columns(triplets, "triplets")
    votes = triplets[["song1_vote", "song2_vote"]].to_numpy(dtype=float)
    total = votes.sum(axis=1)
    return np.divide(votes.max(axis=1), total, out=np.zeros_like(total), where=total > 0)


def clean_subset(triplets: pd.DataFrame, agreement: float = CLEAN_AGREEMENT) -> pd.DataFrame:
    """Rows where the majority holds at least ``agreement`` of the votes (Dim-Sim's clean set uses 0.9)."""
    return triplets[agreement_share(triplets) >= agreement].reset_index(drop=True)


def write_triplets(triplets: pd.DataFrame, path: str | Path) -> None:
    """Write triplets as a Dim-Sim CSV (the 15 columns, in order)."""
    _check_columns(triplets, "triplets")
    triplets[list(COLUMNS)].to_csv(path, index=False)


def read_triplets(path: str | Path) -> pd.DataFrame:
    """Read a Dim-Sim CSV (ours or the real dataset's), returning the 15 columns in order.

    The real file (Zenodo record 3889149) has the 15 columns of :data:`COLUMNS`: MSD track ids for the
    anchor and the two songs, each clip's start in seconds and in samples at ``sampling_rate`` (22,050 Hz),
    the clip length (3 s, 66,150 samples) and the votes for song 1 and song 2. Extra columns (a saved index,
    say) are dropped; the columns may come in any order.

    Every row is checked: numbers where numbers belong, non-negative integer starts and votes, a positive
    rate, and starts in seconds that agree with starts in samples (to 10 ms).

    Raises:
        FileNotFoundError: no such file. ValueError: naming the file, the column and the row, and the fix.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such triplet file. Fix: download Dim-Sim from Zenodo record "
                                f"3889149, or write one with mdrbench.dimsim.write_triplets.")
    try:
        frame = pd.read_csv(path, dtype={column: str for column in _ID_COLUMNS}, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot be parsed as CSV ({' '.join(str(error).split())}). Fix: give the "
                         f"Dim-Sim CSV unchanged.") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    _check_columns(frame, str(path))
    frame = frame[list(COLUMNS)].copy()
    for column in _ID_COLUMNS:
        frame[column] = frame[column].fillna("").str.strip()
        empty = frame.index[frame[column] == ""]
        if len(empty):
            raise ValueError(f"{path}: row {int(empty[0]) + 2} has no {column}. Fix: every triplet needs three ids.")
    numbers = pd.to_numeric(frame["triplet_id"], errors="coerce")
    if numbers.notna().all() and (numbers == np.round(numbers)).all():
        frame["triplet_id"] = numbers.astype(np.int64)
    else:  # the ids are only labels: keep them as written
        frame["triplet_id"] = frame["triplet_id"].astype(str)
    for column in COLUMNS:
        if column in _ID_COLUMNS or column == "triplet_id":
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values)
        integer = column in _INTEGER_COLUMNS
        if integer:
            bad |= (values != np.round(values)) | (values < 0)
        else:
            bad |= values < 0
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            kind = "a non-negative integer" if integer else "a non-negative number"
            raise ValueError(f"{path}: row {row + 2}, column {column}: {frame[column].iloc[row]!r} is not {kind}. "
                             f"Fix: give the Dim-Sim CSV unchanged.")
        frame[column] = values.astype(np.int64) if integer else values.astype(np.float64)
    if (frame["sampling_rate"] <= 0).any():
        raise ValueError(f"{path}: sampling_rate must be positive (Dim-Sim uses 22050). Fix: give the Dim-Sim CSV "
                         f"unchanged.")
    for role in ("anchor", "song1", "song2"):
        gap = (frame[f"{role}_start_samples"] / frame["sampling_rate"] - frame[f"{role}_start_seconds"]).abs()
        if (gap > START_TOLERANCE_SECONDS).any():
            row = int(np.flatnonzero(gap.to_numpy() > START_TOLERANCE_SECONDS)[0])
            raise ValueError(f"{path}: triplet {frame['triplet_id'].iloc[row]}: {role}_start_samples / sampling_rate "
                             f"= {frame[f'{role}_start_samples'].iloc[row] / frame['sampling_rate'].iloc[row]:.3f} s "
                             f"but {role}_start_seconds = {frame[f'{role}_start_seconds'].iloc[row]} s. Fix: the two "
                             f"starts must describe the same clip.")
    return frame


def triplets_in_corpus(triplets: pd.DataFrame, corpus: Corpus,
                       id_map: dict[str, str] | None = None) -> tuple[pd.DataFrame, int]:
    """The triplets whose three tracks are all in ``corpus`` (you may hold only part of Dim-Sim's MSD clips).

    Args:
        id_map: optional triplet id -> corpus track id (when the corpus names tracks otherwise than by
            MSD id); ids not in it are looked up unchanged.

    Returns:
        (the usable rows, ids mapped to corpus track ids, index reset; how many rows were dropped).
    """
    _check_columns(triplets, "triplets")
    known = set(corpus.track_ids.tolist())
    mapped = triplets.copy()
    for column in _ID_COLUMNS:
        mapped[column] = [id_map.get(str(t), str(t)) if id_map else str(t) for t in mapped[column]]
    usable = np.ones(len(mapped), bool)
    for column in _ID_COLUMNS:
        usable &= mapped[column].isin(known).to_numpy()
    return mapped[usable].reset_index(drop=True), int((~usable).sum())


def clip_frames(features, indices: np.ndarray, start_seconds: np.ndarray, n_frames: int | None = None) -> np.ndarray:
    """Excerpt start frames in a :class:`~mdrbench.features.FeatureStore` for clips given in seconds.

    A clip starting ``s`` seconds into its track (any sampling rate: Dim-Sim's starts are at 22,050 Hz)
    starts at frame ``round((s - window_start) * sample_rate / hop_length)`` of the front-end's features,
    where ``window_start`` is where the stored window of that track begins (feature extraction keeps at most
    30 s, centred). Starts are clipped so the excerpt stays inside the stored features; a clip that had to
    move by more than half its length (audio shorter than Dim-Sim's, or outside the window) is counted in a
    warning.

    Args:
        features: a FeatureStore (its ``settings``, ``lengths`` and ``window_starts``).
        indices: (n,) corpus track indices.
        start_seconds: (n,) clip starts in seconds from the start of each track.
        n_frames: excerpt length (default ``features.settings.excerpt_frames``).

    Returns:
        (n,) int64 frame starts in [0, max(length - n_frames, 0)].
    """
    import warnings

    indices = np.asarray(indices, dtype=np.int64)
    start_seconds = np.asarray(start_seconds, dtype=np.float64)
    settings = features.settings
    n_frames = settings.excerpt_frames if n_frames is None else int(n_frames)
    frames_per_second = settings.sample_rate / settings.hop_length
    wanted = np.round((start_seconds - features.window_starts[indices]) * frames_per_second).astype(np.int64)
    frames = np.clip(wanted, 0, np.maximum(features.lengths[indices] - n_frames, 0))
    moved = np.abs(frames - wanted) > n_frames // 2
    if moved.any():
        warnings.warn(f"{int(moved.sum())} of {len(frames)} clips lie outside the stored audio by more than half a "
                      f"clip and were moved inside it (audio shorter than the triplets assume, or outside the kept "
                      f"window: compute features with a longer max_seconds).", stacklevel=2)
    return frames


def triplet_indices(triplets: pd.DataFrame, corpus: Corpus) -> tuple[np.ndarray, ...]:
    """Corpus indices and clip starts of (anchor, positive, negative), the positive having more votes.

    Ties are dropped. Starts are in seconds (the file's sample rate may differ from the corpus's).

    Returns:
        (anchor_idx, positive_idx, negative_idx) int64 arrays and (anchor_start, positive_start,
        negative_start) float64 arrays in seconds, each of shape (n_untied_triplets,).
    """
    _check_columns(triplets, "triplets")
    untied = triplets[triplets["song1_vote"] != triplets["song2_vote"]]
    lookup = {track: index for index, track in enumerate(corpus.track_ids.tolist())}
    unknown = sorted({str(t) for column in _ID_COLUMNS for t in untied[column] if str(t) not in lookup})
    if unknown:
        raise CorpusError(f"{len(unknown)} triplet track ids are not in corpus {corpus.name!r}, e.g. {unknown[:5]}. "
                          f"Fix: use the corpus the triplets were made for (for Dim-Sim: the MSD clips), or keep the "
                          f"triplets whose tracks you have with triplets_in_corpus(triplets, corpus).")
    first_wins = (untied["song1_vote"] > untied["song2_vote"]).to_numpy()

    def pick(if_first: str, otherwise: str, suffix: str) -> np.ndarray:
        return np.where(first_wins, untied[f"{if_first}{suffix}"].to_numpy(), untied[f"{otherwise}{suffix}"].to_numpy())

    anchor = np.array([lookup[str(t)] for t in untied["anchor_id"]], dtype=np.int64)
    positive = np.array([lookup[str(t)] for t in pick("song1", "song2", "_id")], dtype=np.int64)
    negative = np.array([lookup[str(t)] for t in pick("song2", "song1", "_id")], dtype=np.int64)
    return (anchor, positive, negative,
            untied["anchor_start_seconds"].to_numpy(dtype=np.float64),
            pick("song1", "song2", "_start_seconds").astype(np.float64),
            pick("song2", "song1", "_start_seconds").astype(np.float64))
