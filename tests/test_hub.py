"""The course on a shared JupyterHub: nbgrader's own exchange loop, late penalties, feedback, LMS grades.

One Russian course with a filesystem exchange (which already holds another course), two
students with HOME folders of their own holding the written student config: ``alice`` solves
``residual_networks``, ``bob`` leaves ``convolutional_block`` as the stub. The loop runs with
real nbgrader commands as the README lists them — release, fetch, validate, submit, collect,
``python -m autograder grade --jobs 2``, release_feedback, fetch_feedback — then the due date
passes, alice resubmits, ``collect --update``, and grading again zeroes her late work
everywhere. The tests read what each step left behind.
"""

from __future__ import annotations

import csv
import datetime
import html
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from autograder.course.build import NBGRADER, default_course_id
from autograder.course.feedback import TEXT, HideHiddenTests

LESSON = "residual_networks"
MAX = 18
STUDENTS = ("alice", "bob")
BOB_SCORE = 7  # everything but convolutional_block (2 × 2 + 1) and ResNet-50 (6), built from it
# nbgrader's own words in its feedback template; none may reach a Russian course's feedback.
ENGLISH = ("Score", "Test cell", "Coding free-response", "Written response", "Comment", "No response",
           "Late submission penalty", "(Top)", "Student's answer", "Student's task", "Grade cell", "In\xa0[", "Out[",
           "Output truncated")


def _env(home: Path | None) -> dict[str, str]:
    """The environment of a user whose Jupyter configuration lives in ``home`` (None: this process's user)."""
    env = dict(os.environ)
    if home is not None:
        env = {key: value for key, value in env.items() if not key.startswith("JUPYTER_")}
        env["HOME"] = str(home)
        import matplotlib

        env["MPLCONFIGDIR"] = matplotlib.get_configdir()  # the font cache, not a new one per student
    return env


def nbgrader(cwd: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A real nbgrader command, as the user owning ``home`` types it in ``cwd``; fails the test if it fails."""
    run = subprocess.run([*NBGRADER, *args], cwd=cwd, env=_env(home), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"nbgrader {' '.join(args)}:\n{(run.stdout + run.stderr)[-3000:]}"
    return run


def autograder(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                         timeout=1800)
    assert run.returncode == 0, f"python -m autograder {' '.join(args)}:\n{(run.stdout + run.stderr)[-3000:]}"
    return run


def _write_answers(notebook_path: Path, stub: str | None) -> None:
    """Solve the fetched notebook, leaving the answer cell ``stub`` as handed out."""
    from autograder.build.solve import solve
    from autograder.course import use_solutions

    use_solutions()
    notebook = nbformat.read(notebook_path, as_version=4)
    solved = solve(notebook, LESSON)
    for mine, answer in zip(notebook.cells, solved.cells, strict=True):
        if mine.metadata.get("nbgrader", {}).get("grade_id") != stub:
            mine.source = answer.source
    nbformat.write(notebook, notebook_path)


@dataclass
class Hub:
    tmp: Path
    course: Path
    exchange: Path
    homes: dict[str, Path]
    umask: int
    seconds: dict[str, float] = field(default_factory=dict)
    validate: dict[str, str] = field(default_factory=dict)
    table: list[str] = field(default_factory=list)  # the console output of each `grade`
    grades: list[dict[str, dict[str, str]]] = field(default_factory=list)  # grades.csv after each `grade`
    reports: list[str] = field(default_factory=list)
    fetched: dict[str, list[Path]] = field(default_factory=dict)  # feedback HTML each student fetched
    feedback_round1: dict[str, str] = field(default_factory=dict)
    late_exports: dict[str, Path] = field(default_factory=dict)


def _grades_csv(course: Path) -> dict[str, dict[str, str]]:
    with open(course / "grades.csv", newline="", encoding="utf-8") as file:
        return {row["student_id"]: row for row in csv.DictReader(file) if row["assignment"] == LESSON}


def _grade(hub: Hub, label: str) -> None:
    start = time.perf_counter()
    run = autograder(hub.tmp, "grade", str(hub.course), "--jobs", "2", "--quiet")
    hub.seconds[label] = round(time.perf_counter() - start, 1)
    hub.table.append(run.stdout)
    hub.grades.append(_grades_csv(hub.course))
    hub.reports.append((hub.course / "report.md").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Hub:
    started = time.perf_counter()
    tmp = tmp_path_factory.mktemp("hub")
    umask = os.umask(0)
    os.umask(umask)
    exchange = tmp / "exchange"
    (exchange / "another-course" / "outbound").mkdir(parents=True)  # the hub's exchange, already in use
    hub = Hub(tmp, tmp / "resnet-ru", exchange, {s: tmp / "home" / s for s in STUDENTS}, umask)

    # The instructor builds the course and releases the lesson.
    autograder(tmp, "course", str(hub.course), "--lang", "ru", "--exchange", str(exchange), "--late-penalty", "zero")
    nbgrader(hub.course, "release_assignment", LESSON)

    # Each student: the written config in ~/.jupyter, fetch, work, validate, submit.
    for student, home in hub.homes.items():
        (home / ".jupyter").mkdir(parents=True)
        shutil.copy2(hub.course / "for_students" / "nbgrader_config.py", home / ".jupyter" / "nbgrader_config.py")
        nbgrader(home, "fetch_assignment", LESSON, home=home)
        _write_answers(home / LESSON / f"{LESSON}.ipynb", stub="convolutional_block" if student == "bob" else None)
    validating = {student: subprocess.Popen([*NBGRADER, "validate", f"{LESSON}/{LESSON}.ipynb"], cwd=home,
                                            env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            text=True) for student, home in hub.homes.items()}
    for student, process in validating.items():
        hub.validate[student] = process.communicate(timeout=900)[0]
    for student, home in hub.homes.items():
        nbgrader(home, "submit", LESSON, "--student", student, home=home)

    # The instructor collects, grades and returns the feedback; each student fetches theirs.
    nbgrader(hub.course, "collect", LESSON)
    _grade(hub, "grade, 2 submissions")
    hub.feedback_round1 = {s: (hub.course / "feedback" / s / LESSON / f"{LESSON}.html").read_text(encoding="utf-8")
                           for s in STUDENTS}
    nbgrader(hub.course, "release_feedback", LESSON)
    for student, home in hub.homes.items():
        nbgrader(home, "fetch_feedback", LESSON, "--student", student, home=home)
        hub.fetched[student] = sorted((home / LESSON / "feedback").glob(f"*/{LESSON}.html"))

    # The due date passes; alice submits again, late; the instructor collects the update and grades again.
    due = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    nbgrader(hub.course, "db", "assignment", "add", LESSON, f"--duedate={due}")
    time.sleep(1.5)
    nbgrader(hub.homes["alice"], "submit", LESSON, "--student", "alice", home=hub.homes["alice"])
    nbgrader(hub.course, "collect", "--update", LESSON)
    _grade(hub, "grade again")

    # For the LMS: alice's name has a comma; nbgrader's export command with our plugins.
    nbgrader(hub.course, "db", "student", "add", "alice", "--first-name=Alice", "--last-name=Smith, Jr.",
             "--email=alice@example.org", "--lms-user-id=1042")
    for lms in ("Moodle", "Canvas"):
        hub.late_exports[lms] = tmp / f"{lms.lower()}.csv"
        nbgrader(hub.course, "export", f"--exporter=autograder.course.lms.{lms}ExportPlugin",
                 f"--to={hub.late_exports[lms]}")
    hub.seconds["whole loop"] = round(time.perf_counter() - started, 1)
    print(f"\nhub loop timings (s): {hub.seconds}")
    return hub


def test_the_course_names_its_id_exchange_and_late_policy(hub: Hub) -> None:
    course = json.loads((hub.course / "course.json").read_text(encoding="utf-8"))
    assert course["course_id"] == default_course_id(hub.course) and course["course_id"].startswith("resnet-ru-")
    assert course["exchange"] == str(hub.exchange) and course["late_penalty"] == "zero"
    config = (hub.course / "nbgrader_config.py").read_text(encoding="utf-8")
    assert f"c.CourseDirectory.course_id = {course['course_id']!r}" in config
    assert f"c.Exchange.root = {str(hub.exchange)!r}" in config
    assert "c.LateSubmissionPlugin.penalty_method = 'zero'" in config
    students = (hub.course / "for_students" / "nbgrader_config.py").read_text(encoding="utf-8")
    assert f"c.CourseDirectory.course_id = {course['course_id']!r}" in students and str(hub.exchange) in students
    # The exchange is shared: the other course is still there beside this one.
    assert sorted(p.name for p in hub.exchange.iterdir()) == sorted(["another-course", course["course_id"]])
    # Normal permissions (the user's umask), not a private temporary folder's 700.
    expected = 0o777 & ~hub.umask
    assert stat.S_IMODE(hub.course.stat().st_mode) == expected
    assert stat.S_IMODE((hub.course / "source").stat().st_mode) == expected
    assert stat.S_IMODE((hub.course / "course.json").stat().st_mode) == 0o666 & ~hub.umask


def test_students_validate_with_their_own_config(hub: Hub) -> None:
    assert "Success! Your notebook passes all the tests." in hub.validate["alice"], hub.validate["alice"][-2000:]
    assert "VALIDATION FAILED" in hub.validate["bob"] and "convolutional_block" in hub.validate["bob"]


def test_each_student_fetches_their_own_feedback(hub: Hub) -> None:
    for student in STUDENTS:
        assert len(hub.fetched[student]) == 1, hub.fetched[student]
        # Byte for byte the HTML the course wrote for this student, not the other one.
        assert hub.fetched[student][0].read_text(encoding="utf-8") == hub.feedback_round1[student]
    assert f"(Баллы: {MAX} / {MAX})" in hub.feedback_round1["alice"]
    assert f"(Баллы: {BOB_SCORE} / {MAX})" in hub.feedback_round1["bob"]


def test_first_round_scores_agree(hub: Hub) -> None:
    first = hub.grades[0]
    assert float(first["alice"]["score"]) == MAX and float(first["bob"]["score"]) == BOB_SCORE
    assert re.search(rf"^alice +{LESSON} +{MAX} / {MAX} ", hub.table[0], re.M), hub.table[0]
    assert f"| alice | {LESSON} | {MAX} / {MAX} |" in hub.reports[0]


def test_a_late_resubmission_is_penalized_everywhere(hub: Hub) -> None:
    late = hub.grades[1]
    assert float(late["alice"]["raw_score"]) == MAX and float(late["alice"]["late_submission_penalty"]) == MAX
    assert float(late["alice"]["score"]) == 0
    assert float(late["bob"]["score"]) == BOB_SCORE and float(late["bob"]["late_submission_penalty"]) == 0
    # The console table and report.md: the same final score, written first, the penalty after it.
    assert re.search(rf"^alice +{LESSON} +0 / {MAX} \(late penalty −{MAX}\)", hub.table[1], re.M), hub.table[1]
    assert re.search(rf"^bob +{LESSON} +{BOB_SCORE} / {MAX} ", hub.table[1], re.M), hub.table[1]
    assert f"| alice | {LESSON} | 0 / {MAX} (штраф за опоздание −{MAX}) |" in hub.reports[1]
    assert f"| bob | {LESSON} | {BOB_SCORE} / {MAX} |" in hub.reports[1]
    feedback = (hub.course / "feedback" / "alice" / LESSON / f"{LESSON}.html").read_text(encoding="utf-8")
    assert f"(Баллы: 0 / {MAX})" in feedback and f"Штраф за опоздание (Баллы: −{MAX})" in feedback


def test_russian_feedback_has_no_english_words_and_no_hidden_tests(hub: Hub) -> None:
    autograded = (hub.course / "autograded" / "bob" / LESSON / f"{LESSON}.ipynb").read_text(encoding="utf-8")
    assert "BEGIN HIDDEN TESTS" in autograded  # graded with them: the feedback must drop them
    with sqlite3.connect(hub.course / "gradebook.db") as db:  # nbgrader's comment on bob's untouched answer
        comments = [row[0] for row in db.execute("SELECT auto_comment FROM comment")]
    assert "No response." in comments
    for student in STUDENTS:
        page = (hub.course / "feedback" / student / LESSON / f"{LESSON}.html").read_text(encoding="utf-8")
        visible = html.unescape(re.sub(r"<style.*?</style>|<script.*?</script>|<[^>]+>", " ", page, flags=re.S))
        found = [word for word in ENGLISH if word in visible]
        assert not found, (student, found)
        assert "HIDDEN TESTS" not in page and "record_hidden" not in page
        assert '<html lang="ru">' in page and "Ячейка проверки" in page and "(к началу)" in page
        # Formulas are MathML, drawn by the browser: no MathJax, nothing from the internet, no raw TeX.
        assert page.count("<math") >= 10 and "mathjax" not in page.lower() and "$" not in visible
        assert not re.search(r"""(\bsrc=|<link[^>]*href=)["']?(https?:)?//""", page)  # links stay links


def _chrome(page: str) -> dict[str, list[str]]:
    """The words nbgrader's template puts around a notebook: contents, cell headings, scores."""
    def text(fragment: str) -> str:
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())

    return {"title": [text(m) for m in re.findall(r"<h4>(.*?)</h4>", page, re.S)],
            "contents": [text(m) for m in re.findall(r'<div id="toc">(.*?)</div>', page, re.S)],
            "labels": [text(m) for m in re.findall(r'<span class="nbgrader-label">(.*?)</span>', page, re.S)],
            "scores": [text(m) for m in re.findall(r'<span class="pull-right">(.*?)</span>', page, re.S)],
            "prompts": re.findall(r"(?:In(?:&nbsp;|\xa0| )|Out)\[\d*\]:", page)}


def test_english_feedback_words_are_nbgrader_s_own(hub: Hub) -> None:
    """Our template in English says what nbgrader's own template says (alice: with the late penalty line)."""
    pages = {}
    for name, options in (("ours", ["--FeedbackExporter.language=en"]),
                          ("nbgrader", ["--GenerateFeedback.exporter_class=nbconvert.exporters.HTMLExporter"])):
        nbgrader(hub.course, "generate_feedback", LESSON, "--student", "alice", "--force",
                 f"--CourseDirectory.feedback_directory=feedback_{name}", *options)
        written = hub.course / f"feedback_{name}" / "alice" / LESSON / f"{LESSON}.html"
        pages[name] = written.read_text(encoding="utf-8")
    ours, theirs = _chrome(pages["ours"]), _chrome(pages["nbgrader"])
    assert ours == theirs and ours["prompts"]
    assert f"Late submission penalty (Score: -{MAX:.1f})" in ours["contents"][0]
    assert "cdnjs" in pages["nbgrader"] and "cdnjs" not in pages["ours"]  # nbgrader's MathJax comes from a CDN


def test_feedback_in_chromium_offline(hub: Hub) -> None:
    """Debian's Chromium: formulas drawn, check messages wrapped (no sideways scrolling), nothing fetched."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--window-size=900,800"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        browser.get((hub.course / "feedback" / "bob" / LESSON / f"{LESSON}.html").as_uri())
        formulas = browser.find_elements(By.TAG_NAME, "math")
        assert formulas and all(f.size["width"] > 5 and f.size["height"] > 5 for f in formulas)
        outputs = browser.find_elements(By.CSS_SELECTOR, "div.output_area pre")
        # Check messages of a line longer than the page is wide (as a student gets them), each one wrapped.
        assert max(len(line) for element in outputs for line in element.text.splitlines()) > 120
        assert all(browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth + 1", element)
                   for element in outputs)
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
        browser.save_screenshot(str(hub.tmp / "feedback.png"))
    finally:
        browser.quit()


def test_formgrader_hides_the_hidden_tests(hub: Hub) -> None:
    """nbgrader's formgrader (the instructor's JupyterLab) renders submissions with the course's config."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    log = hub.tmp / "formgrader.log"
    with open(log, "w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             "--ServerApp.open_browser=False", f"--ServerApp.root_dir={hub.course}"],
            cwd=hub.course, stdout=output, stderr=subprocess.STDOUT)
    try:
        with sqlite3.connect(hub.course / "gradebook.db") as db:
            submissions = db.execute("SELECT submitted_notebook.id, submitted_assignment.student_id "
                                     "FROM submitted_notebook JOIN submitted_assignment "
                                     "ON submitted_notebook.assignment_id = submitted_assignment.id").fetchall()
        assert {student for _, student in submissions} == set(STUDENTS)
        autograded = {student: (hub.course / "autograded" / student / LESSON / f"{LESSON}.ipynb").read_text()
                      for student in STUDENTS}
        deadline = time.monotonic() + 120
        for notebook_id, student in submissions:
            url = f"http://127.0.0.1:{port}/formgrader/submissions/{notebook_id}/?token={token}"
            while True:
                try:
                    page = urllib.request.urlopen(url, timeout=120).read().decode("utf-8")
                    break
                except OSError:
                    assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                    time.sleep(1)
            assert "identity_block_shape" in page and "record_hidden" in autograded[student], student
            assert "HIDDEN TESTS" not in page and "record_hidden" not in page, student
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_lms_files_parse_and_carry_the_final_scores(hub: Hub) -> None:
    # Written by `grade` beside grades.csv (before alice had a name: her id stands in).
    with open(hub.course / "grades_moodle.csv", newline="", encoding="utf-8") as file:
        moodle = {row["Username"]: row for row in csv.DictReader(file)}
    assert {name: float(row[LESSON]) for name, row in moodle.items()} == {
        student: float(row["score"]) for student, row in hub.grades[1].items()} == {"alice": 0, "bob": BOB_SCORE}
    # `nbgrader export --exporter=autograder.course.lms.…`, after the name "Smith, Jr." was recorded.
    text = hub.late_exports["Moodle"].read_text(encoding="utf-8")
    assert '"Smith, Jr."' in text  # quoted, so the comma stays inside the field
    with open(hub.late_exports["Moodle"], newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["First name", "Last name", "Username", "User ID", "Email address", LESSON]
    assert rows[1:] == [["Alice", "Smith, Jr.", "alice", "1042", "alice@example.org", "0"],
                        ["", "bob", "bob", "", "", str(BOB_SCORE)]]
    with open(hub.late_exports["Canvas"], newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", LESSON]
    assert rows[1] == ["Points Possible", "", "", "", "", str(MAX)]
    assert rows[2:] == [["Smith, Jr., Alice", "1042", "", "alice", "", "0"], ["bob", "", "", "bob", "", str(BOB_SCORE)]]


# Fast checks without a course.

def test_default_course_ids_are_readable_and_differ_by_folder(tmp_path: Path) -> None:
    one, two = default_course_id(tmp_path / "a" / "ML course"), default_course_id(tmp_path / "b" / "ML course")
    assert one.startswith("ML-course-") and two.startswith("ML-course-") and one != two
    assert default_course_id(tmp_path / "a" / "ML course") == one  # rebuilt in the same folder: the same id


def test_unsafe_course_ids_are_refused(tmp_path: Path) -> None:
    for bad in ("../escape", "a+b", "", "-x", "x" * 65, "курс"):
        run = subprocess.run([sys.executable, "-m", "autograder", "course", "c", "--lang", "en", "--course-id", bad],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, (bad, run.stderr)
    assert not list(tmp_path.iterdir())


def test_hidden_tests_never_reach_a_page_and_a_stray_marker_breaks_nothing() -> None:
    grade = {"nbgrader": {"grade": True, "grade_id": "g", "points": 1, "solution": False}}
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("check.g(f)\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS", metadata=grade),
        nbformat.v4.new_code_cell("check.g(f)\n### BEGIN HIDDEN TESTS\nsecret()", metadata=grade),  # never closed
        nbformat.v4.new_code_cell("# my notes: ### BEGIN HIDDEN TESTS"),  # a learner's own cell
    ])
    cleaned, _ = HideHiddenTests().preprocess(notebook, {})
    assert [cell.source for cell in cleaned.cells] == ["check.g(f)", "check.g(f)", "# my notes: ### BEGIN HIDDEN TESTS"]
    assert set(TEXT["en"]) == set(TEXT["ru"])
