"""The one base class of the errors mdrbench raises on purpose.

Every error that tells a user what is wrong with their input (a corpus, a cache, a results folder, a model
module) derives from :class:`MdrbenchError`, with a one-line message that names the problem and the fix. The
CLI prints those as one line; anything else is a bug and shows as one, with its traceback.
"""

from __future__ import annotations


class MdrbenchError(Exception):
    """Base of mdrbench's own errors: the message is one line, naming what is wrong and the fix."""


class CorpusError(MdrbenchError, ValueError):
    """A corpus on disk or in memory is inconsistent; the message names the file and the fix.

    It lives here, not in :mod:`mdrbench.corpus`, so that :mod:`mdrbench.audio` (which the corpus uses to read
    its files) can raise it without importing the corpus: imports flow one way.
    """
