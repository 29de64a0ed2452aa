"""Readers for real corpora a user already has on disk; each returns a :class:`mdrbench.Corpus`.

- :func:`load_folder`: any folder of audio files (any rates, any channel counts) with a tag table (CSV).
- :func:`load_jamendo`: MTG-Jamendo's official split files (genre, mood/theme, instrument, top-50; the decade
  tags become era), merged into one multi-label corpus.
- :func:`load_msd`: the MSD Last.fm top-50 split of the paper (201,680 / 11,774 / 28,435) over the 7digital
  previews you hold; pickled split files only with ``allow_pickle=True``.
- :func:`import_folder`: a folder of audio + tag table written as a corpus manifest that references the audio in
  place (``mdrbench corpus import``); :func:`check_corpus` reports what is missing or wrong in a corpus folder
  (``mdrbench corpus check``).
- :func:`load_real_music`: the five short real recordings shipped with mdrbench (see
  ``mdrbench/data/real_music/CREDITS.md``), tagged by us from their descriptions.

Nothing is downloaded: point the readers at files you have. Audio stays where it is and is resampled and
down-mixed on load. The real Dim-Sim triplets load with :func:`mdrbench.dimsim.read_triplets`.
"""

from pathlib import Path

from mdrbench.sources.folder import load_folder
from mdrbench.sources.jamendo import load_jamendo
from mdrbench.sources.manifest import CorpusCheck, check_corpus, import_folder, write_corpus_manifest
from mdrbench.sources.msd import load_msd

__all__ = ["CorpusCheck", "check_corpus", "import_folder", "load_folder", "load_jamendo", "load_msd", "load_real_music",
           "real_music_dir", "write_corpus_manifest"]


def real_music_dir() -> Path:
    """The folder of the shipped real recordings (five OGG files, tags.csv, vocabulary.csv, CREDITS.md)."""
    return Path(__file__).resolve().parent.parent / "data" / "real_music"


def load_real_music(sample_rate: int | None = None, name: str = "real-music"):
    """The shipped real recordings as a Corpus (22,050 Hz mono OGG; 5 tracks, 6.1 minutes).

    Tags (genre and instrument only) come from the pieces' descriptions in CREDITS.md and librosa's notes;
    splits are 3 train, 1 valid, 1 test.
    """
    folder = real_music_dir()
    return load_folder(folder, folder / "tags.csv", folder / "vocabulary.csv", name=name, sample_rate=sample_rate)
