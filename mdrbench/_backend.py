"""Make sure Keras runs on the torch backend before anything imports it.

Keras reads ``KERAS_BACKEND`` once, at its first import. mdrbench's layers, losses and training loop are
written for the torch backend, so the package sets the variable when it is unset and refuses to go on when
keras was already imported with another backend (mixing backends gives confusing errors much later).
"""

import os
import sys

from mdrbench.errors import MdrbenchError

REQUIRED_BACKEND = "torch"


class KerasBackendError(MdrbenchError, RuntimeError):
    """Keras was configured (or already imported) with a backend other than torch."""


def ensure_torch_backend() -> None:
    requested = os.environ.setdefault("KERAS_BACKEND", REQUIRED_BACKEND)
    if requested != REQUIRED_BACKEND:
        raise KerasBackendError(
            f"KERAS_BACKEND is set to {requested!r}, but mdrbench needs the torch backend. "
            f"Fix: unset KERAS_BACKEND or run with KERAS_BACKEND=torch."
        )
    keras_module = sys.modules.get("keras")
    if keras_module is not None:
        backend = getattr(getattr(keras_module, "config", None), "backend", None)
        active = backend() if callable(backend) else None
        if active is not None and active != REQUIRED_BACKEND:
            raise KerasBackendError(
                f"keras was already imported with the {active!r} backend, but mdrbench needs 'torch'. "
                f"Fix: import mdrbench before keras, or restart the Python kernel and set "
                f"os.environ['KERAS_BACKEND'] = 'torch' before the first `import keras`."
            )
