"""Debian's headless Chromium driven through a JupyterHub: log in, nbgrader's Assignments panel, formgrader.

* :func:`chromium` — Debian's Chromium and chromedriver, given by path (Selenium Manager never
  downloads anything), headless, offline (every host name but 127.0.0.1 fails), its own profile.
  Use one per user: the hub's cookies are per browser.
* :func:`hub_login` — the hub's login form with a user's real password; waits for their JupyterLab.
* :func:`open_assignments` — *Nbgrader → Assignment List* (nbgrader's JupyterLab extension);
  :func:`assignment_button` then clicks Fetch, Submit or Fetch Feedback on a lesson's row and
  waits for the panel to show the result (:func:`fetch`, :func:`submit`, :func:`fetch_feedback`).
* :func:`open_in_lab` — opens a file of the user's server in JupyterLab (an HTML file in its
  HTML viewer: :func:`html_viewer_text` reads what it shows).
* :func:`menu_commands` — the commands of a top menu (e.g. what *Nbgrader* offers this user).
* :func:`shot` — a screenshot into a folder, named, for a person to look at.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from .jupyterhub import Hub
from .unix_users import User

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000",
         # Offline: every host name fails at once; only the hub on 127.0.0.1 answers.
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
ASSIGNMENTS = "#nbgrader-assignment-list"  # nbgrader's panel (a JupyterLab main-area widget)
LISTS = {"released": "#released_assignments_list", "fetched": "#fetched_assignments_list",
         "submitted": "#submitted_assignments_list"}


@contextlib.contextmanager
def chromium(profile: Path, timeout: float = 120) -> Iterator[webdriver.Chrome]:
    """Debian's headless Chromium with its own profile folder ``profile``; quit on exit."""
    assert CHROMIUM.is_file() and CHROMEDRIVER.is_file(), "install Debian's chromium and chromium-driver (.ci/run)"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(timeout)
        yield driver
    finally:
        driver.quit()


def shot(driver: webdriver.Chrome, folder: Path, name: str) -> Path:
    """Save a screenshot ``folder/name.png`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def wait_for(driver: webdriver.Chrome, condition: Callable[[webdriver.Chrome], object], timeout: float = 120,
             message: str | Callable[[], str] = "") -> object:
    """WebDriverWait(...).until(condition), with a message (a callable is asked only on failure)."""
    try:
        return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)
    except WebDriverException as error:
        text = message() if callable(message) else message
        raise AssertionError(f"{text or 'waited in vain'} (at {driver.current_url})") from error


def _lab_ready(driver: webdriver.Chrome) -> bool:
    return bool(driver.find_elements(By.CSS_SELECTOR, "#jp-MainMenu .lm-MenuBar-itemLabel"))


def hub_login(driver: webdriver.Chrome, hub: Hub, user: User, password: str | None = None,
              timeout: float = 300) -> None:
    """Log in on the hub's form; wait until the user's JupyterLab (spawned on first login) shows its menus."""
    driver.get(f"{hub.url}/hub/login")
    wait_for(driver, lambda d: d.find_elements(By.ID, "username_input"), 60, "the hub's login form")
    driver.find_element(By.ID, "username_input").send_keys(user.name)
    driver.find_element(By.ID, "password_input").send_keys(password if password is not None else user.password)
    driver.find_element(By.ID, "login_submit").click()
    wait_for(driver, lambda d: f"/user/{user.name}/lab" in d.current_url and _lab_ready(d), timeout,
             lambda: f"{user.name}'s JupyterLab did not open:\n{hub.log_tail()}")


def open_lab(driver: webdriver.Chrome, hub: Hub, user: User, path: str = "", timeout: float = 120) -> None:
    """Open ``/user/<name>/lab[/tree/<path>]`` with a fresh workspace (``?reset``); wait for the menus."""
    tree = f"/tree/{path}" if path else ""
    driver.get(hub.user_url(user.name, f"lab{tree}?reset"))
    wait_for(driver, _lab_ready, timeout, "JupyterLab's menus")


def menu_commands(driver: webdriver.Chrome, menu: str) -> list[str]:
    """The commands (``data-command``) of the top menu labelled ``menu``; the menu is closed again."""
    labels = driver.find_elements(By.CSS_SELECTOR, "#jp-MainMenu .lm-MenuBar-item")
    item = next((label for label in labels if label.text.strip() == menu), None)
    if item is None:
        return []
    item.click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".lm-Menu .lm-Menu-item"), 30, f"the {menu} menu")
    commands = [element.get_attribute("data-command") for element in
                driver.find_elements(By.CSS_SELECTOR, ".lm-Menu .lm-Menu-item")
                if element.is_displayed() and element.get_attribute("data-command")]
    item.click()  # close it
    return commands


def run_menu(driver: webdriver.Chrome, menu: str, command: str) -> None:
    """Click the top menu ``menu``, then its item for ``command`` (e.g. ``nbgrader:open-assignment-list``)."""
    labels = driver.find_elements(By.CSS_SELECTOR, "#jp-MainMenu .lm-MenuBar-item")
    item = next((label for label in labels if label.text.strip() == menu), None)
    assert item is not None, f"no {menu!r} menu: {[label.text for label in labels]}"
    item.click()
    entry = wait_for(driver, lambda d: next((e for e in d.find_elements(
        By.CSS_SELECTOR, f'.lm-Menu .lm-Menu-item[data-command="{command}"]') if e.is_displayed()), None), 30,
        f"the item {command} in the {menu} menu")
    entry.click()


def _list_ready(driver: webdriver.Chrome) -> bool:
    """nbgrader's three lists have loaded (no loading row left, no error shown)."""
    panel = driver.find_elements(By.CSS_SELECTOR, ASSIGNMENTS)
    if not panel or not panel[0].is_displayed():
        return False
    loading = [e for e in panel[0].find_elements(By.CSS_SELECTOR, "[id$='_list_loading']") if e.is_displayed()]
    return not loading


def list_errors(driver: webdriver.Chrome) -> list[str]:
    """The error rows nbgrader's panel shows (empty when it loaded fine)."""
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, f"{ASSIGNMENTS} [id$='_list_error']")
            if e.is_displayed() and e.text.strip()]


def open_assignments(driver: webdriver.Chrome, timeout: float = 120) -> WebElement:
    """*Nbgrader → Assignment List*; waits until its lists have loaded and returns the panel."""
    run_menu(driver, "Nbgrader", "nbgrader:open-assignment-list")
    wait_for(driver, _list_ready, timeout, lambda: f"the Assignments panel did not load: {list_errors(driver)}")
    return driver.find_element(By.CSS_SELECTOR, ASSIGNMENTS)


def refresh_assignments(driver: webdriver.Chrome, timeout: float = 120) -> None:
    """The panel's refresh button; waits until the lists have loaded again."""
    driver.find_element(By.CSS_SELECTOR, f"{ASSIGNMENTS} #refresh_assignments_list").click()
    time.sleep(0.5)
    wait_for(driver, _list_ready, timeout, lambda: f"the Assignments panel did not reload: {list_errors(driver)}")


def rows(driver: webdriver.Chrome, which: str) -> list[WebElement]:
    """The top-level rows of one of the panel's lists (``released``, ``fetched``, ``submitted``)."""
    return [row for row in driver.find_elements(By.CSS_SELECTOR, f"{ASSIGNMENTS} {LISTS[which]} > .list_item")
            if row.is_displayed()]


def row_of(driver: webdriver.Chrome, which: str, lesson: str) -> WebElement | None:
    for row in rows(driver, which):
        names = row.find_elements(By.CSS_SELECTOR, ".item_name")
        if names and names[0].text.split("\n")[0].strip().split(" ")[0] == lesson:
            return row
    return None


def assignment_button(driver: webdriver.Chrome, which: str, lesson: str, label: str,
                      done: Callable[[webdriver.Chrome], object], timeout: float = 300) -> None:
    """Click the button ``label`` on ``lesson``'s row of the list ``which``; wait for ``done(driver)``."""
    row = wait_for(driver, lambda d: row_of(d, which, lesson), 60,
                   lambda: f"no {lesson} in the {which} list: {[r.text for r in rows(driver, which)]}")
    button = next((b for b in row.find_elements(By.CSS_SELECTOR, "button") if b.text.strip() == label), None)
    assert button is not None, f"no {label!r} button on {lesson} ({which}): {row.text!r}"
    button.click()
    wait_for(driver, done, timeout, lambda: f"{label} {lesson}: {list_errors(driver)} {_panel_text(driver)[-1500:]}")


def _panel_text(driver: webdriver.Chrome) -> str:
    panels = driver.find_elements(By.CSS_SELECTOR, ASSIGNMENTS)
    return panels[0].text if panels else ""


def fetch(driver: webdriver.Chrome, lesson: str) -> None:
    """Fetch ``lesson`` (released → fetched)."""
    assignment_button(driver, "released", lesson, "Fetch", lambda d: row_of(d, "fetched", lesson) is not None)


def submit(driver: webdriver.Chrome, lesson: str) -> None:
    """Submit ``lesson``; waits until a new submission shows in the submitted list."""
    before = _submissions(driver, lesson)
    assignment_button(driver, "fetched", lesson, "Submit", lambda d: _submissions(d, lesson) > before)


def _submissions(driver: webdriver.Chrome, lesson: str) -> int:
    row = row_of(driver, "submitted", lesson)
    return len(row.find_elements(By.CSS_SELECTOR, ".nested_list_item")) if row is not None else 0


def fetch_feedback(driver: webdriver.Chrome, lesson: str) -> None:
    """Fetch Feedback on ``lesson``'s submitted row; waits for the panel's "(view feedback)" link."""
    assignment_button(driver, "submitted", lesson, "Fetch Feedback",
                      lambda d: "view feedback" in (row_of(d, "submitted", lesson) or d).text)


def open_in_lab(driver: webdriver.Chrome, hub: Hub, user: User, path: str, timeout: float = 120) -> None:
    """Open ``path`` (relative to the user's home) in their JupyterLab, as double-clicking it in the file browser."""
    open_lab(driver, hub, user, path, timeout)


def html_viewer_text(driver: webdriver.Chrome, timeout: float = 120) -> str:
    """The text JupyterLab's HTML viewer shows (the page inside its iframe)."""
    frame = wait_for(driver, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, ".jp-HTMLViewer iframe")), None),
                     timeout, "JupyterLab's HTML viewer")
    driver.switch_to.frame(frame)
    try:
        wait_for(driver, lambda d: d.execute_script("return document.body && document.body.innerText.length > 0"),
                 timeout, "the page in the HTML viewer")
        return driver.execute_script("return document.body.innerText")
    finally:
        driver.switch_to.default_content()
