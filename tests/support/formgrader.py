"""nbgrader's formgrader on a real Jupyter server, pages in headless Chromium, and probes for hostile scripts.

* :func:`formgrader` starts the instructor's Jupyter server (nbgrader's server extension, hence
  formgrader) for a course on 127.0.0.1, a free port and a token, and stops it afterwards.
* :func:`submission_ids` reads the ids formgrader's URLs use from nbgrader's gradebook.
* :func:`chromium` is Debian's headless Chromium, offline, recording every dialog a page opens.
* :func:`payload` is JavaScript that, if it ever runs in a page, leaves evidence three ways:
  ``window.__pwned_<id>`` and ``document.title`` in the page, a dialog, and (on a Jupyter
  server's origin) the file ``pwned-<id>.txt`` written through the contents API with the
  ``_xsrf`` cookie, as an attacker would.
* :func:`open_page` opens a page, waits, clicks every ``javascript:`` link and form a grader
  could click, and returns a :class:`PageReport`: markers, dialogs, where the page went, its
  images and its visible text.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .browser import CHROMEDRIVER, CHROMIUM, FLAGS

MARKER_PREFIX = "__pwned_"
FILE_PREFIX = "pwned-"

# Installed in every document before its own scripts: dialogs are recorded (in the top page) instead of shown.
DIALOG_RECORDER = """(() => {
  const record = (kind, message) => {
    let target = window;
    try { window.top.__dialogs; target = window.top; } catch (error) {}
    (target.__dialogs = target.__dialogs || []).push(kind + ': ' + String(message));
  };
  window.alert = message => { record('alert', message); };
  window.confirm = message => { record('confirm', message); return false; };
  window.prompt = message => { record('prompt', message); return null; };
  window.print = () => { record('print', ''); };
})();"""

# What a grader could click that runs script: javascript: links, forms and submit buttons. Clicked, then listed.
CLICK_ACTIVE = """
const found = [];
const isScript = value => /^\\s*javascript:/i.test(value || '');
const click = element => { try { element.click(); } catch (error) {} };
for (const link of document.querySelectorAll('a[href], area[href]')) {
  if (link.protocol === 'javascript:') {
    found.push('javascript: link ' + JSON.stringify(link.textContent.trim().slice(0, 60)));
    click(link);
  }
}
for (const form of document.querySelectorAll('form')) {
  if (isScript(form.getAttribute('action'))) {
    found.push('form with a javascript: action');
    try { form.requestSubmit(); } catch (error) { try { form.submit(); } catch (e) {} }
  }
}
for (const button of document.querySelectorAll('[formaction]')) {
  if (isScript(button.getAttribute('formaction'))) {
    found.push('button with a javascript: formaction');
    click(button);
  }
}
return found;
"""

STATE = """
const prefix = arguments[0];
const visible = element => element.getClientRects().length > 0
  && getComputedStyle(element).visibility !== 'hidden';
const markers = new Set();
const views = [window];
for (let i = 0; i < window.frames.length; i++) views.push(window.frames[i]);
for (const view of views) {
  try {
    for (const key of Object.keys(view)) if (key.startsWith(prefix)) markers.add(key.slice(prefix.length));
  } catch (error) {}  // a frame of another origin
}
return {
  url: location.href, title: document.title, base: document.baseURI,
  markers: Array.from(markers).sort(), dialogs: (window.__dialogs || []).slice(),
  text: document.body ? document.body.innerText : '',
  images: Array.from(document.images).map(image => ({
    alt: image.alt, src: (image.getAttribute('src') || '').slice(0, 48), complete: image.complete,
    width: image.naturalWidth, visible: visible(image)})),
};
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Formgrader:
    """A running Jupyter server with formgrader: its address, token, root folder and log."""

    url: str
    token: str
    root: Path
    course: Path
    log: Path

    def submission_url(self, submission_id: str) -> str:
        """The formgrader page of one submitted notebook (Manual Grading → a submission)."""
        return f"{self.url}/formgrader/submissions/{submission_id}/"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]


@contextmanager
def formgrader(course: Path, workdir: Path, server_root: Path | None = None,
               timeout: float = 120) -> Iterator[Formgrader]:
    """The instructor's Jupyter server for ``course``, with nbgrader's server extension; stopped on exit.

    Started as an instructor starts it, in the course folder (nbgrader reads its
    ``nbgrader_config.py`` there), on 127.0.0.1, a free port and a random token. The server's root
    is ``server_root`` (default: the folder holding the course; formgrader needs the course inside
    it). ``workdir`` gets the server's Jupyter config and runtime folders (fresh, so no user
    setting changes the server) and its log. nbgrader's formgrader extension is enabled on the
    command line.
    """
    server_root = (server_root or course.parent).resolve()
    course = course.resolve()
    assert course.is_relative_to(server_root), "formgrader needs the course inside the server's root"
    workdir.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key != "JUPYTER_CONFIG_PATH"}
    env |= {"JUPYTER_CONFIG_DIR": str(workdir / "config"), "JUPYTER_RUNTIME_DIR": str(workdir / "runtime")}
    port, token, log = free_port(), secrets.token_hex(16), workdir / "formgrader.log"
    command = [sys.executable, "-m", "jupyter_server", "--allow-root", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               "--ServerApp.open_browser=False", f"--ServerApp.root_dir={server_root}",
               # formgrader even where nbgrader's extension is not enabled in the environment's config
               "--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=True"]
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(command, cwd=course, env=env, stdout=output, stderr=subprocess.STDOUT)
    server = Formgrader(f"http://127.0.0.1:{port}", token, server_root, course, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, f"jupyter server exited ({process.returncode}):\n{server.log_tail()}"
            assert time.monotonic() < deadline, f"jupyter server did not answer in {timeout} s:\n{server.log_tail()}"
            try:
                with urllib.request.urlopen(f"{server.url}/api/status?token={token}", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def submission_ids(gradebook: Path, course_id: str, assignment: str, notebook: str) -> dict[str, str]:
    """``{student: submitted notebook id}`` from nbgrader's gradebook (the ids in formgrader's URLs)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{gradebook}", course_id=course_id) as gb:
        return {submitted.student.id: submitted.id for submitted in gb.notebook_submissions(notebook, assignment)}


@contextmanager
def chromium(profile: Path) -> Iterator[object]:
    """Debian's headless Chromium (by path: Selenium Manager stays idle), offline, dialogs recorded.

    Every document, frames included, gets :data:`DIALOG_RECORDER` before its own scripts, so
    ``alert``/``confirm``/``prompt`` are listed in :attr:`PageReport.dialogs` instead of
    blocking the page; a dialog opened some other way is accepted and listed too.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM.is_file() and CHROMEDRIVER.is_file(), "install Debian's chromium and chromium-driver (.ci/run)"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("unhandledPromptBehavior", "accept and notify")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(120)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DIALOG_RECORDER})
        yield driver
    finally:
        driver.quit()


def payload(evidence: str) -> str:
    """JavaScript that, if it runs anywhere in a page (frames too), leaves the evidence ``evidence``.

    It sets ``window.__pwned_<evidence>`` and ``document.title`` of the top page, writes
    ``pwned-<evidence>.txt`` into the Jupyter server's root with ``PUT /api/contents`` (the
    browser's login cookie, and the ``_xsrf`` cookie as ``X-XSRFToken``: this succeeds on the
    server's origin) and opens an alert. ``evidence``: letters, digits, ``_ . -``.
    """
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", evidence), evidence
    return (
        "(function(){var c=" + json.dumps(evidence) + ",w=window;try{w=window.top}catch(e){}"
        "try{w['" + MARKER_PREFIX + "'+c]=true;w.document.title='" + FILE_PREFIX + "'+c}catch(e){}"
        "try{var m=w.document.cookie.match(/(?:^|;\\s*)_xsrf=([^;]*)/),"
        "b=w.location.origin+w.location.pathname.split('/formgrader/')[0];"
        "w.fetch(b+'/api/contents/" + FILE_PREFIX + "'+c+'.txt',{method:'PUT',credentials:'same-origin',"
        "headers:{'Content-Type':'application/json','X-XSRFToken':m?decodeURIComponent(m[1]):''},"
        "body:JSON.stringify({type:'file',format:'text',content:'a script of a submission ran: '+c})})"
        ".catch(function(){})}catch(e){}"
        "try{w.alert('" + FILE_PREFIX + "'+c)}catch(e){}})();"
    )


def payload_call(evidence: str) -> str:
    """:func:`payload` as one short expression, ``eval(atob('…'))``: no spaces, no double quotes, no braces.

    It fits an HTML attribute, an unquoted attribute, a ``javascript:`` URL and TeX.
    """
    source = payload(evidence)
    source += " " * (-len(source) % 3)  # no "=" padding in the base64
    return f"eval(atob('{base64.b64encode(source.encode()).decode()}'))"


def pwned_files(root: Path) -> list[str]:
    """The evidence files a payload wrote anywhere under ``root``."""
    return sorted(str(path.relative_to(root)) for path in root.rglob(f"{FILE_PREFIX}*"))


@dataclass
class PageReport:
    """What a page did and shows, read from the browser after it settled."""

    url: str  # the address opened
    final_url: str  # where the browser was at the end
    title: str
    base_uri: str  # document.baseURI: a <base> element changes it
    markers: list[str]  # window.__pwned_<id> found in the page or its frames
    dialogs: list[str]  # alert/confirm/prompt/print the page opened
    clicked: list[str]  # javascript: links and forms a grader could click (they were clicked)
    text: str  # document.body.innerText: the text a person sees
    images: list[dict] = field(default_factory=list)  # alt, src (start), complete, width (natural), visible

    def evidence(self) -> list[str]:
        """Everything that shows the page ran a submission's script or was taken over; empty when clean."""
        found = [f"marker {marker}" for marker in self.markers]
        found += [f"dialog {dialog!r}" for dialog in self.dialogs]
        found += [f"clickable {thing}" for thing in self.clicked]
        if FILE_PREFIX in self.title:
            found.append(f"title {self.title!r}")
        if self.final_url.split("#")[0] != self.url.split("#")[0]:
            found.append(f"navigated to {self.final_url}")
        if self.base_uri.split("#")[0] != self.final_url.split("#")[0]:
            found.append(f"base URL changed to {self.base_uri}")
        return found

    def loaded_images(self, alts: set[str] | None = None) -> list[dict]:
        """The images that loaded and are visible (only those whose alt text is in ``alts``, if given)."""
        return [image for image in self.images if image["width"] > 0 and image["visible"]
                and (alts is None or image["alt"] in alts)]


def _run(browser: object, script: str, *args: object, dialogs: list[str]) -> object:
    """``execute_script``, accepting (and listing in ``dialogs``) any native dialog that is in the way.

    A page that is navigating (a refresh it asked for) gets a moment and another try.
    """
    from selenium.common.exceptions import UnexpectedAlertPresentException, WebDriverException

    for attempt in range(20):
        try:
            return browser.execute_script(script, *args)  # type: ignore[attr-defined]
        except UnexpectedAlertPresentException as dialog:
            dialogs.append(f"native: {dialog.alert_text}")
        except WebDriverException:
            if attempt >= 5:
                raise
            time.sleep(0.5)
    raise AssertionError(f"dialogs keep opening: {dialogs[-3:]}")


def leave_page(browser: object) -> None:
    """Go to ``about:blank`` and stay there: nothing of the last page (a pending refresh, a timer) reaches the next."""
    from selenium.common.exceptions import UnexpectedAlertPresentException

    for _ in range(10):
        try:
            browser.get("about:blank")  # type: ignore[attr-defined]
        except UnexpectedAlertPresentException:
            continue
        time.sleep(0.1)
        if browser.current_url == "about:blank":  # type: ignore[attr-defined]
            return
    raise AssertionError(f"the last page does not let go: {browser.current_url}")  # type: ignore[attr-defined]


def open_page(browser: object, url: str, settle: float = 3.0, click: bool = True) -> PageReport:
    """Open ``url`` (from ``about:blank``), wait ``settle`` seconds, click what a grader could click, report."""
    from selenium.common.exceptions import UnexpectedAlertPresentException

    leave_page(browser)
    native: list[str] = []
    try:
        browser.get(url)  # type: ignore[attr-defined]
    except UnexpectedAlertPresentException as dialog:
        native.append(f"native: {dialog.alert_text}")
    time.sleep(settle)
    return inspect_page(browser, url, click=click, settle=settle, dialogs=native)


def inspect_page(browser: object, url: str, click: bool = False, settle: float = 3.0,
                 dialogs: list[str] | None = None) -> PageReport:
    """Report on the page open now (opened as ``url``), first clicking what a grader could click if ``click``."""
    native = dialogs if dialogs is not None else []
    clicked: list[str] = []
    if click:
        clicked = list(_run(browser, CLICK_ACTIVE, dialogs=native) or [])
        if clicked:
            time.sleep(max(1.0, settle / 2))
    state = _run(browser, STATE, MARKER_PREFIX, dialogs=native)
    return PageReport(url=url, final_url=state["url"], title=state["title"], base_uri=state["base"],
                      markers=state["markers"], dialogs=state["dialogs"] + native, clicked=clicked,
                      text=state["text"], images=state["images"])


def run_in_page(browser: object, script: str, *args: object) -> object:
    """Run ``script`` in the page now open (for positive controls: a probe that must be detected)."""
    return _run(browser, script, *args, dialogs=[])
