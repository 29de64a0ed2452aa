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


def test_load_model_registers_the_custom_layers(tmp_path):
    code = ("import mdrbench, numpy as np; from mdrbench.models import build_model; "
            "m = build_model('proxy-norm-dis', [0, 1, 2, 3], input_shape=(1, 16, 24), channels=(4, 8)); "
            "m.build((None, 1, 16, 24)); m(np.zeros((2, 1, 16, 24), 'float32')); "
            f"m.save(r'{tmp_path}/m.keras')")
    assert run_python(code).returncode == 0, run_python(code).stderr
    result = run_python(f"import mdrbench; print(type(mdrbench.load_model(r'{tmp_path}/m.keras')).__name__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "RepresentationModel"
