"""The notebooks as a student sees them: JupyterLab served locally, opened in headless Chromium, all cells run.

nbmake proves that the code runs; it cannot see whether a Plotly figure, a widget or an audio player actually
drew. Here JupyterLab runs each notebook in a real browser, offline (plotly.js and the widget manager come from
the installed JupyterLab extensions, not a CDN), and the test fails when:
- an output holds a traceback,
- a notebook that makes figures, widgets or audio players shows none of them drawn,
- the page logs a SEVERE console error.

Driven by Selenium with Debian's chromium + chromium-driver (`.ci/run` installs them) and SE_OFFLINE=true, so
Selenium never tries to download a driver. Skips where Chromium or its driver is missing, except under
CI=true, where it fails. Slow (a kernel and a browser per notebook): marked `slow`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import require_program

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# notebook -> what must have drawn in it (counts are lower bounds: the notebook makes at least that many)
EXPECTED = {
    "00_quickstart": {"plotly": 1, "widgets": 0, "audio": 1},
    "01_data": {"plotly": 1, "widgets": 0, "audio": 1},
    "04_models_and_training": {"plotly": 4, "widgets": 0, "audio": 0},  # two .main-svg per figure: schedule, curves
    "05_disentanglement": {"plotly": 1, "widgets": 1, "audio": 1},
}
# the Colab and Binder badge images come from their sites: offline they cannot load, and that is expected
OFFLINE_BADGES = ("https://colab.research.google.com/assets/", "https://mybinder.org/badge")
RUN_SECONDS = 600  # per notebook, at the ci size
SCREENSHOT = os.environ.get("MDRBENCH_BROWSER_SCREENSHOTS")  # a folder: save what each notebook looked like


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the notebooks (running them must not write outputs into the repo)."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(NOTEBOOKS, root / "notebooks", ignore=shutil.ignore_patterns("*.py", "solutions"))
    settings = root / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')  # no news pop-up
    # every cell stays in the page (JupyterLab 4 otherwise detaches off-screen cells, hiding their outputs)
    notebook_settings = root / "settings" / "@jupyterlab" / "notebook-extension"
    notebook_settings.mkdir(parents=True)
    (notebook_settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port = free_port()
    env = {**os.environ, "MDRBENCH_SIZE": os.environ.get("MDRBENCH_SIZE", "ci"),
           "JUPYTER_CONFIG_DIR": str(root / "cfg"), "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
           "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
               "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={root}",
               "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
               "jupyterlab.NeverCheckForUpdate"]
    log = open(root / "lab.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=5) as response:
                json.loads(response.read())
            break
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start: {(root / 'lab.log').read_text()[-3000:]}")
            time.sleep(1)
    yield url
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    require_program(("chromium", "chromium-browser"), "Chromium")
    driver_path = require_program(("chromedriver",), "chromium-driver")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", "--disable-background-networking", "--disable-component-update"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


# JavaScript run in the page: the app object that --LabApp.expose_app_in_browser exposes
APP_READY = "return !!(window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.shell.currentWidget"\
            " && window.jupyterapp.shell.currentWidget.sessionContext"\
            " && window.jupyterapp.shell.currentWidget.sessionContext.session"\
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"\
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle')"
RUN_ALL = "window.jupyterapp.commands.execute('notebook:run-all-cells'); return true;"
PROGRESS = """
const panel = window.jupyterapp.shell.currentWidget;
const cells = panel.content.widgets.filter(cell => cell.model.type === 'code');
const counts = cells.map(cell => cell.model.executionCount);
const busy = panel.sessionContext.session.kernel.status;
return {total: cells.length, done: counts.filter(count => count !== null).length,
        pending: cells.filter(cell => cell.promptNode && cell.promptNode.textContent.includes('*')).length,
        status: busy};
"""
DRAWN = """
const node = window.jupyterapp.shell.currentWidget.node;
const text = Array.from(node.querySelectorAll('.jp-OutputArea-output')).map(o => o.innerText || '');
return {plotly: node.querySelectorAll('.js-plotly-plot .main-svg').length,
        widgets: node.querySelectorAll('.jp-OutputArea-output .widget-box, .jp-OutputArea-output .widget-dropdown,'
                                       + ' .jp-OutputArea-output .jupyter-widgets').length,
        widget_errors: Array.from(node.querySelectorAll('.jp-OutputArea-output')).filter(
            o => (o.innerText || '').includes('Error displaying widget')).length,
        audio: node.querySelectorAll('audio').length,
        errors: node.querySelectorAll('[data-mime-type="application/vnd.jupyter.error"]').length,
        tracebacks: text.filter(t => t.includes('Traceback (most recent call last)')).length};
"""


def run_notebook_in_browser(driver, url: str, name: str) -> dict:
    driver.get(f"{url}/lab/tree/notebooks/{name}.ipynb?reset")  # ?reset: do not reopen the previous notebooks
    deadline = time.time() + 180
    while not driver.execute_script(APP_READY):
        if time.time() > deadline:
            pytest.fail(f"{name}: JupyterLab or its kernel never became ready")
        time.sleep(1)
    driver.execute_script(RUN_ALL)
    deadline = time.time() + RUN_SECONDS
    time.sleep(3)
    while True:
        progress = driver.execute_script(PROGRESS)
        if progress["done"] == progress["total"] and progress["pending"] == 0 and progress["status"] == "idle":
            break
        if time.time() > deadline:
            pytest.fail(f"{name}: not finished after {RUN_SECONDS} s: {progress}")
        time.sleep(2)
    time.sleep(3)  # let the last figures and widgets draw
    drawn = driver.execute_script(DRAWN)
    drawn["severe"] = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
                       and not entry["message"].startswith(OFFLINE_BADGES)]
    if SCREENSHOT:  # the first widget in view (05: the sub-space explorer), else the end of the notebook
        driver.execute_script("const audio = document.querySelector('.jp-OutputArea-output audio');"
                              " const box = document.querySelector('.jp-OutputArea-output .widget-box');"
                              " const target = box || audio; if (target) target.scrollIntoView();")
        time.sleep(1)
        Path(SCREENSHOT).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SCREENSHOT) / f"{name}.png"))
    # save (into the temporary copy) and shut the kernel down, so leaving the page prompts nothing
    driver.execute_script("return window.jupyterapp.commands.execute('docmanager:save')"
                          ".then(() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown())")
    return drawn


@pytest.mark.parametrize("name", list(EXPECTED))
def test_notebook_draws_in_a_real_browser(name, lab, browser):
    drawn = run_notebook_in_browser(browser, lab, name)
    print(name, drawn)
    expected = EXPECTED[name]
    assert drawn["tracebacks"] == 0 and drawn["errors"] == 0, f"{name}: an output holds an error: {drawn}"
    assert drawn["widget_errors"] == 0, f"{name}: a widget failed to display: {drawn}"
    for kind, least in expected.items():
        assert drawn[kind] >= least, f"{name}: expected at least {least} drawn {kind}, found {drawn[kind]}: {drawn}"
    assert not drawn["severe"], f"{name}: the page logged severe console errors: {drawn['severe'][:5]}"
