"""Human-like similarity triplets in the Dim-Sim CSV schema, simulated or read from the real file.

Dim-Sim (Lee et al., ICASSP 2020) asked 5-12 people per triplet which of two 3-second clips (song1, song2)
sounds more similar to an anchor clip, with no instruction about which aspect to listen to. We imitate it
on a synthetic corpus: every simulated rater has private weights over the four categories (drawn from a
flat Dirichlet: some listen mostly to genre, others to the instrument...) and a little noise, and rates
similarity as the weighted count of shared clean factors. The result is written in Dim-Sim's schema, so
the real file (Zenodo record 3889149) drops in unchanged for evaluation on real audio.
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
    """Read a Dim-Sim CSV (ours or the real dataset's), returning the 15 columns in order."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such triplet file. Fix: download Dim-Sim from Zenodo record "
                                f"3889149, or write one with mdrbench.dimsim.write_triplets.")
    frame = pd.read_csv(path, dtype={column: str for column in _ID_COLUMNS})
    _check_columns(frame, str(path))
    frame = frame[list(COLUMNS)].copy()
    for column in ("triplet_id", "anchor_start_samples", "song1_start_samples", "song2_start_samples",
                   "sampling_rate", "clip_lengths_samples", "song1_vote", "song2_vote"):
        frame[column] = frame[column].astype(np.int64)
    return frame


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
                          f"Fix: use the corpus the triplets were made for (for Dim-Sim: the MSD clips).")
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
