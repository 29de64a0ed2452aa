"""Readers for real corpora a user already has on disk; each returns a :class:`mdrbench.Corpus`.

- :func:`load_folder`: any folder of audio files with a tag table (CSV), e.g. the MSD Last.fm top-50 tags
  with :meth:`TagVocabulary.msd50`.
- :func:`load_jamendo`: MTG-Jamendo's ``autotagging*.tsv`` split files (genre, mood/theme, instrument).

Nothing is downloaded: point the readers at files you have. The real Dim-Sim triplets load with
:func:`mdrbench.dimsim.read_triplets`.
"""

from mdrbench.sources.folder import load_folder
from mdrbench.sources.jamendo import load_jamendo

__all__ = ["load_folder", "load_jamendo"]
