"""The course site in headless Chromium, offline: every page loads, every Plotly figure draws, every audio player
is there and loads its audio, no cell shows an error, and every link of the site leads to a page of the site.

Which site: ``MDRBENCH_COURSE_SITE=DIR``, a site built by ``mdrbench course`` (CI builds one from the notebooks it
executed once with nbmake, see the README's test command); unset, a small site built here from the hand-made
executed notebooks of tests/test_course.py. What each page must hold (figures, audio players) comes from the
site's ``site.json``, which the build counts from the notebooks' outputs.

Driven by Selenium with Debian's chromium + chromium-driver, like tests/test_notebooks_in_browser.py, and with
every host name unresolvable, so a page that needs the network fails here. Skips where Chromium or its driver is
missing, except under CI=true, where it fails (.ci/run installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from conftest import require_program

SITE_ENV = "MDRBENCH_COURSE_SITE"
DRAW_SECONDS = 60  # per page: the largest notebook pages carry dozens of figures

STATE = """
const figures = Array.from(document.querySelectorAll('div.mdr-figure'));
const outputs = Array.from(document.querySelectorAll('.jp-OutputArea-output'));
const audio = Array.from(document.querySelectorAll('audio'));
return {main: document.querySelectorAll('main').length, nav: document.querySelectorAll('nav.mdr-nav').length,
        figures: figures.length,
        drawn: figures.filter(f => f.classList.contains('js-plotly-plot') && f.querySelector('svg.main-svg')).length,
        failed: Array.from(document.querySelectorAll('.mdr-figure-error')).map(f => f.textContent).slice(0, 3),
        audio: audio.length, audio_loaded: audio.filter(a => a.readyState >= 1 && a.duration > 0).length,
        errors: document.querySelectorAll('[data-mime-type="application/vnd.jupyter.error"]').length,
        tracebacks: outputs.filter(o => (o.innerText || '').includes('Traceback (most recent call last)')).length,
        links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href)};
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    given = os.environ.get(SITE_ENV)
    if given:
        folder = Path(given)
        if not (folder / "site.json").is_file():
            pytest.fail(f"{SITE_ENV}={given}: no site.json there; build the site with `mdrbench course --out {given}`")
        return folder
    from test_course import GLOSSARY, write_executed_notebooks

    from mdrbench.course import build_site

    root = tmp_path_factory.mktemp("course-browser")
    (root / "glossary.md").write_text(GLOSSARY)
    executed = write_executed_notebooks(root / "executed")
    return build_site(root / "site", executed=executed, glossary=root / "glossary.md", log=lambda line: None).out


@pytest.fixture(scope="module")
def browser():
    require_program(("chromium", "chromium-browser"), "Chromium")
    driver_path = require_program(("chromedriver",), "chromium-driver")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1300,1000", "--disable-background-networking", "--disable-component-update",
                 "--host-resolver-rules=MAP * ~NOTFOUND", "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def open_page(driver, page: Path, figures: int, audio: int) -> dict:
    driver.get(page.resolve().as_uri())
    deadline = time.time() + DRAW_SECONDS
    while True:
        state = driver.execute_script(STATE)
        settled = state["drawn"] + len(state["failed"]) >= figures and state["audio_loaded"] >= audio
        if settled or time.time() > deadline:
            break
        time.sleep(0.5)
    state["severe"] = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    return state


def test_every_page_of_the_course_site_draws_offline(site, browser):
    manifest = json.loads((site / "site.json").read_text())
    expected = {page["path"]: page for page in manifest["pages"]}
    on_disk = {str(path.relative_to(site)) for path in site.rglob("*.html") if path.parts[-2:-1] != ("executed",)}
    assert on_disk == {*expected, "index.html", "glossary.html"}, "site.json does not list the site's pages"
    problems = []
    for path in ["index.html", "glossary.html", *expected]:
        want = expected.get(path, {"figures": 0, "audio": 0})
        state = open_page(browser, site / path, want["figures"], want["audio"])
        print(path, {key: value for key, value in state.items() if key != "links"})
        where = f"{path}:"
        if state["main"] != 1 or state["nav"] < 1:
            problems.append(f"{where} did not load as a page of the site (main {state['main']}, nav {state['nav']})")
        if state["figures"] != want["figures"] or state["drawn"] != want["figures"] or state["failed"]:
            problems.append(f"{where} {state['drawn']} of {want['figures']} Plotly figures drawn "
                            f"({state['figures']} on the page); failed: {state['failed']}")
        if state["audio"] < want["audio"] or state["audio_loaded"] < want["audio"]:
            problems.append(f"{where} {state['audio']} audio players ({state['audio_loaded']} loaded), the notebook "
                            f"has {want['audio']}")
        if state["errors"] or state["tracebacks"]:
            problems.append(f"{where} a cell shows an error ({state['errors']} error outputs, {state['tracebacks']} "
                            f"tracebacks)")
        if state["severe"]:
            problems.append(f"{where} console errors: {state['severe'][:3]}")
        for link in state["links"]:
            url = urlparse(link)
            if url.scheme == "file" and not Path(unquote(url.path)).is_file():
                problems.append(f"{where} a link leads nowhere: {link}")
    assert not problems, "\n".join(problems)
