"""Shared fixtures, and require_program for the browser tests."""

import os
import shutil

import pytest
import torch


def require_program(names: tuple[str, ...], what: str) -> str:
    """The path of the first of ``names`` on PATH; skips when none is, but fails under CI=true (.ci/run installs
    Chromium and its driver, so a skip there would hide a page or notebook that no longer draws)."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    reason = f"{what} not installed: apt-get install -y chromium chromium-driver"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true, so this may not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one thread is fastest, and on a shared 2-core runner it avoids thread contention."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
