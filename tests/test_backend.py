"""`import mdrbench` puts keras on the torch backend, and refuses a keras already on another backend."""

import os
import subprocess
import sys

import pytest


def run_python(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)


def test_import_sets_torch_backend():
    result = run_python("import mdrbench, keras; print(keras.config.backend())")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "torch"


def test_other_backend_in_environment_is_refused():
    result = run_python("import mdrbench", KERAS_BACKEND="numpy")
    assert result.returncode != 0
    assert "KERAS_BACKEND is set to 'numpy'" in result.stderr
    assert "KERAS_BACKEND=torch" in result.stderr


def test_keras_imported_first_with_another_backend_is_refused():
    # Stand in for a keras that some earlier cell imported on TensorFlow (not installed here).
    code = ("import sys, types; keras = types.ModuleType('keras'); "
            "keras.config = types.SimpleNamespace(backend=lambda: 'tensorflow'); sys.modules['keras'] = keras; "
            "import mdrbench")
    result = run_python(code, KERAS_BACKEND="torch")
    assert result.returncode != 0
    assert "keras was already imported with the 'tensorflow' backend" in result.stderr
    assert "restart the Python kernel" in result.stderr


@pytest.mark.parametrize("backend", ["torch"])
def test_explicit_torch_backend_is_accepted(backend):
    assert run_python("import mdrbench", KERAS_BACKEND=backend).returncode == 0
