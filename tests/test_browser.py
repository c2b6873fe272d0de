"""The student's first screen in a real browser: JupyterLab started as the README says, Debian's Chromium.

``jupyter lab notebooks/`` (the server's root is ``notebooks/``, so nothing outside it can be
linked), then each lesson in each language: every figure loads, and (for ``RUN_IMPORTS``) running
the imports cell in a fresh kernel shows nothing — no red stderr box of TensorFlow start-up lines.
Screenshots go to the test's tmp folder. Chromium and chromedriver are Debian's (``.ci/run`` installs them);
nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import LANGS, LESSONS, ROOT, student_notebook
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait
from support.browser import CHROMEDRIVER, CHROMIUM, FLAGS

# JupyterLab user settings: no news/update toast over the page, every cell in the DOM (no windowing).
SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
# The lessons whose imports cell is run here (each costs a kernel's TensorFlow import, ~10-15 s on 2 cores); the
# other lesson's first cell runs in a fresh kernel in test_student_env.py.
RUN_IMPORTS = ("residual_networks",)
STDERR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


@dataclass
class Lab:
    url: str
    token: str
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """``jupyter lab notebooks/`` on 127.0.0.1, a random port and a token; settings, state and kernels' env fresh."""
    home = tmp_path_factory.mktemp("lab")
    for name, values in SETTINGS.items():
        path = home / "settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", "NBGRADER_EXECUTION")}
    env |= {"JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    port, token, log = _free_port(), secrets.token_hex(16), home / "server.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={ROOT / 'notebooks'}"]
    with log.open("w", encoding="utf-8") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    lab = Lab(f"http://127.0.0.1:{port}", token, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"jupyter lab exited ({server.returncode}):\n{lab.log_tail()}"
            assert time.monotonic() < deadline, f"jupyter lab did not answer in 120 s:\n{lab.log_tail()}"
            try:
                with urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        yield lab
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Debian's headless Chromium through Debian's chromedriver (given by path: Selenium Manager stays idle)."""
    assert CHROMIUM.is_file() and CHROMEDRIVER.is_file(), "install Debian's chromium and chromium-driver (.ci/run)"
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _figures_in(notebook: nbformat.NotebookNode) -> int:
    return sum(len(cell.get("attachments", {})) for cell in notebook.cells if cell.cell_type == "markdown")


def _panel(browser: webdriver.Chrome) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden)")


IMAGES = """return Array.from(arguments[0].querySelectorAll('.jp-Notebook img')).map(
    image => ({alt: image.alt, complete: image.complete, width: image.naturalWidth}))"""


@pytest.mark.parametrize("lesson", LESSONS)
@pytest.mark.parametrize("lang", LANGS)
def test_first_screen(lab: Lab, browser: webdriver.Chrome, lang: str, lesson: str, tmp_path: Path) -> None:
    notebook = nbformat.read(student_notebook(lesson, lang), as_version=4)
    figures = _figures_in(notebook)
    assert figures >= 3
    # ?reset: a fresh workspace, only this notebook open.
    browser.get(f"{lab.url}/lab/tree/{lang}/{lesson}.ipynb?reset&token={lab.token}")
    wait = WebDriverWait(browser, 120)
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Notebook .jp-Cell"))
               == len(notebook.cells))
    panel = _panel(browser)
    # Every figure of the notebook renders (a broken link has naturalWidth 0).
    wait.until(lambda b: len(b.execute_script(IMAGES, panel)) >= figures
               and all(image["complete"] for image in b.execute_script(IMAGES, panel)))
    images = browser.execute_script(IMAGES, panel)
    assert len(images) == figures and all(image["width"] > 0 for image in images), images
    first_figure = panel.find_element(By.CSS_SELECTOR, ".jp-Notebook img")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", first_figure)
    browser.save_screenshot(str(tmp_path / f"{lang}-{lesson}-figure.png"))
    if lesson not in RUN_IMPORTS:
        return

    # A fresh kernel is ready; run the imports cell as a student does: select it, Shift+Enter.
    wait.until(lambda b: b.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) "
                                        ".jp-Notebook-ExecutionIndicator").get_attribute("data-status") == "idle")
    cell = panel.find_elements(By.CSS_SELECTOR, ".jp-CodeCell")[0]
    assert "quiet_tensorflow_start()" in cell.text
    prompt = cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell)
    prompt.click()
    ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    WebDriverWait(browser, 240).until(lambda b: prompt.text.strip() == "[1]:", f"the imports cell did not run: "
                                      f"{lab.log_tail()}")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", cell)
    browser.save_screenshot(str(tmp_path / f"{lang}-{lesson}.png"))
    outputs = [element.text for element in cell.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")]
    stderr = [element.text for element in panel.find_elements(By.CSS_SELECTOR, STDERR_OUTPUT)]
    assert stderr == [] and outputs == [], (stderr, outputs)
