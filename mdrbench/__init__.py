"""mdrbench: metric learning vs classification for disentangled music representation learning.

Importing the package sets ``KERAS_BACKEND=torch`` when it is unset, before keras is imported anywhere.
"""

from mdrbench._backend import KerasBackendError, ensure_torch_backend

ensure_torch_backend()

from mdrbench.corpus import CATEGORIES, Corpus, CorpusError, TagVocabulary  # noqa: E402

__version__ = "0.1.0"
__all__ = ["CATEGORIES", "Corpus", "CorpusError", "KerasBackendError", "TagVocabulary", "__version__"]
