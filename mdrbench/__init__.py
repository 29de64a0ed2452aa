"""mdrbench: metric learning vs classification for disentangled music representation learning.

Importing the package sets ``KERAS_BACKEND=torch`` when it is unset, before keras is imported anywhere, and
refuses to go on if keras was already imported with another backend.
"""

from mdrbench._backend import KerasBackendError, ensure_torch_backend

ensure_torch_backend()

from mdrbench.corpus import CATEGORIES, Corpus, CorpusError, TagVocabulary  # noqa: E402

__version__ = "0.1.0"
__all__ = ["CATEGORIES", "Corpus", "CorpusError", "KerasBackendError", "TagVocabulary", "__version__", "load_model"]


def load_model(path):
    """Load a model saved by mdrbench (``model.keras``): registers mdrbench's layers, then asks Keras."""
    import warnings

    import keras

    import mdrbench.features  # noqa: F401  (registers LogMelSpectrogram)
    import mdrbench.losses  # noqa: F401  (registers the loss layers that own proxies and classifiers)
    import mdrbench.models  # noqa: F401  (registers the backbone layers and RepresentationModel)

    with warnings.catch_warnings():
        # The reference bundle's models are saved without Adam's state (weights only are needed to embed).
        warnings.filterwarnings("ignore", message=".*Skipping variable loading for optimizer.*")
        return keras.saving.load_model(path)
