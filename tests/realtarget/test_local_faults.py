"""Local faults end cleanly: `lucs-acceptance` against the mock (apart from the run's processes, as a
real LUCS) when the restore journal, the reports or the user's home cannot be written. Each run
ends with its one line, its exit code and its summary line, LUCS as it was found, and no empty or
cut report left as if whole.

The faults are made without root where possible: a file-size limit (RLIMIT_FSIZE, `ulimit -f`) on
the run's processes, lowered mid-run on pytest alone with prlimit, and folders under a regular file
(ENOTDIR, which root meets too). A really full disk needs a tiny tmpfs: those tests run as root where
mounting is allowed and are skipped elsewhere. Every run writes only in tmp_path: its reports,
journals, history, cache and bytecode (a Python under a file-size limit leaves cut .pyc files)."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.realtarget.support import agent_state, mock_process, mock_thread, wait_for
from tests.support.faults import limited_to, uncreatable
from tests.support.suite import ROOT, child_env, scenario_tags

TIMEOUT = 120
WALL = 60.0  # seconds a run with a local fault may take, at most: it must not hang on the fault
TASK = "I post an external task that prefers only the target user"
REQUEST = re.compile(r'"([A-Z]+) (/\S*) HTTP/1\.1"')
INTERNAL = ("INTERNALERROR", "Traceback", "cut short by a second interrupt")


def lucs_state(base: str) -> tuple[Any, ...]:
    """What a run may change: the agent, the open tasks, and the callbacks left pending."""
    callbacks = requests.get(f"{base}/_mock/state", timeout=5).json()["callbacks"]
    pending = sorted(c["ExternalTaskId"] for c in callbacks if c.get("State") == "Pending")
    return *agent_state(base), pending


def callbacks_made(base: str) -> int:
    return len(requests.get(f"{base}/_mock/state", timeout=5).json()["callbacks"])


def env_in(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a run that writes only in tmp_path."""
    ours = {
        "LUCS_JOURNAL_DIR": str(tmp_path / "journals"),
        "LUCS_LEASE_DIR": str(tmp_path / "leases"),
        "LUCS_HOLD_TIME": "0.1",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    return child_env(**(ours | extra))


# the tests that use `pycache`: on one worker, so its warming run and restore run once per make test
WARM_CACHE = pytest.mark.xdist_group("pycache")


@pytest.fixture(scope="module")
def pycache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a bytecode cache of its own, warmed by a run and a restore without a limit:
    a Python under a file-size limit writes a cut .pyc where it must write one (it does not check a
    short write), which would break every later import of that module, in the checkout too."""
    prefix, warm = tmp_path_factory.mktemp("pycache"), tmp_path_factory.mktemp("warm")
    cached = {"PYTHONPYCACHEPREFIX": str(prefix)}
    paths = ["-p", "tests.realtarget.pause_plugin", "-k", "smoke or task_for_a_blocked or descending_order"]
    with mock_thread() as base:
        for command in (run_args(warm, base, *paths), wrapper("restore", "--lucs-base-url", base)):
            done, _ = finished(command, env_in(warm, **cached))
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return cached


def wrapper(*args: str) -> list[str]:
    return [sys.executable, "-m", "lucs_harness.cli", *args]


def run_args(tmp_path: Path, base: str, *extra: str, html: bool = True) -> list[str]:
    """A run with every change allowed, its reports and history in tmp_path, no pytest cache."""
    reports = ["--reports-dir", str(tmp_path / "reports")]
    history = ["--history", str(tmp_path / "history" / "allure-history.jsonl")] if html else ["--no-html"]
    target = ["--lucs-base-url", base, "--lucs-allow-changes", "-p", "no:cacheprovider"]
    return wrapper(*reports, *history, "--", *target, *extra)


def finished(
    command: list[str], env: dict[str, str], limit: Callable[[], None] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    """The command run to its end, and its wall time."""
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False, preexec_fn=limit
    )
    return done, time.monotonic() - started


def summary(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stdout.splitlines() if line.startswith("LUCS acceptance: ")]
    assert len(lines) == 1, done.stdout[-3000:] + done.stderr[-3000:]
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    """Files that a write cut short could leave: empty ones, and the temporary names of the harness."""
    files = [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []
    return [str(path) for path in files if path.stat().st_size == 0 or ".partial-" in path.name]


def assert_clean(done: subprocess.CompletedProcess[str], wall: float) -> None:
    said = done.stdout + done.stderr
    assert not [word for word in INTERNAL if word in said], said[-4000:]
    assert wall < WALL


def under_a_file_size_limit(tmp_path: Path, pycache: dict[str, str], limit: int) -> subprocess.CompletedProcess[str]:
    """The suite under `ulimit -f` of `limit` bytes: it ends 12, quickly and cleanly, LUCS as found."""
    with mock_thread() as base:
        before = lucs_state(base)
        done, wall = finished(run_args(tmp_path, base), env_in(tmp_path, **pycache), limited_to(limit))
        assert lucs_state(base) == before
    assert done.returncode == 12, done.stdout[-3000:] + done.stderr[-3000:]
    assert_clean(done, wall)
    return done


@WARM_CACHE
def test_the_html_past_a_file_size_limit_is_exit_12_and_every_other_report_whole(
    tmp_path: Path, pycache: dict[str, str]
) -> None:
    """`ulimit -f 1024`: the 5 MB page is cut by Node (which exits 0): no report.html, no history."""
    reports = tmp_path / "reports"
    done = under_a_file_size_limit(tmp_path, pycache, 1024 * 1024)
    assert (
        f"lucs-acceptance: HTML report not written: {reports / 'report.html'}: "
        "Allure wrote only 1048576 bytes of the page: EFBIG: file too large, write"
    ) in done.stderr.splitlines()
    line = summary(done)
    assert "-> exit 12 (report could not be written); reports: Allure results " in line
    assert "HTML" not in line
    assert " 0 failed" in line
    assert not (reports / "report.html").exists()
    assert not (tmp_path / "history" / "allure-history.jsonl").exists()
    assert {"junit.xml", "cucumber.json", "allure-results"} <= {p.name for p in reports.iterdir()}
    assert leftovers(reports) == leftovers(tmp_path / "history") == []


@WARM_CACHE
def test_reports_past_a_small_file_size_limit_go_whole_and_the_run_still_restores(
    tmp_path: Path, pycache: dict[str, str]
) -> None:
    """`ulimit -f 16`: attachments (19 KB) fail mid-run, cucumber.json (32 KB) at the end; junit.xml
    (8 KB) and the journal fit. No scenario fails for it, no INTERNALERROR, LUCS as found."""
    reports = tmp_path / "reports"
    done = under_a_file_size_limit(tmp_path, pycache, 16 * 1024)
    said = done.stderr.splitlines()
    assert f"lucs: Allure results not written: {reports / 'allure-results'}: [Errno 27] File too large" in said
    assert f"lucs: Cucumber report not written: {reports / 'cucumber.json'}: [Errno 27] File too large" in said
    line = summary(done)
    assert re.match(r"LUCS acceptance: \d+ passed, 0 failed, \d+ not run: mock-only .* -> exit 12 ", line), line
    assert line.endswith(f"reports: JUnit {reports / 'junit.xml'}")
    assert sorted(p.name for p in reports.iterdir()) == [".lucs-acceptance-manifest.json", "junit.xml"]
    assert leftovers(reports) == []


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `folder`: a really full disk. Root only, where mounting is allowed."""
    if os.geteuid() != 0:
        pytest.skip("a full disk needs a tmpfs, which only root may mount")
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=False)
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here (a container without CAP_SYS_ADMIN)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_reports_disk_mid_run_is_exit_12_with_the_reports_that_fit(tmp_path: Path) -> None:
    """ENOSPC on a 256 KB disk: the Allure results fill it and go, which frees the disk for junit.xml
    and cucumber.json at the end; nothing empty is left as before the fix."""
    with tmpfs(tmp_path / "disk", "256k") as disk, mock_thread() as base:
        reports = disk / "reports"
        before = lucs_state(base)
        args = ["--reports-dir", str(reports), "--no-history", "--", "--lucs-base-url", base, "--lucs-allow-changes"]
        done, wall = finished(wrapper(*args, "-p", "no:cacheprovider"), env_in(tmp_path))
        assert lucs_state(base) == before
        assert done.returncode == 12, done.stdout[-3000:] + done.stderr[-3000:]
        assert_clean(done, wall)
        said = done.stderr.splitlines()
        assert (
            f"lucs: Allure results not written: {reports / 'allure-results'}: [Errno 28] No space left on device"
            in said
        )
        line = summary(done)
        assert " 0 failed, " in line
        assert "-> exit 12 (report could not be written)" in line
        assert line.endswith(f"reports: JUnit {reports / 'junit.xml'}, Cucumber {reports / 'cucumber.json'}")
        assert leftovers(disk) == []


def fill(disk: Path) -> None:
    """Write to `disk` until it is full."""
    with (disk / "filler").open("wb", buffering=0) as file, pytest.raises(OSError, match="No space left on device"):
        write_until_full(file.fileno())


def write_until_full(descriptor: int) -> None:
    while True:
        os.write(descriptor, b"\0" * 4096)


def test_on_a_full_journal_disk_no_change_is_sent(tmp_path: Path) -> None:
    """ENOSPC on the journal's disk from the start: the block's undo cannot be written, so the block
    is not sent; its step fails in one line, nothing else goes wrong, LUCS is untouched."""
    with tmpfs(tmp_path / "disk", "64k") as disk, mock_thread() as base:
        fill(disk)
        before = lucs_state(base)
        args = run_args(tmp_path, base, "-k", "blocking_takes", html=False)
        done, wall = finished(args, env_in(tmp_path, LUCS_JOURNAL_DIR=str(disk)))
        assert lucs_state(base) == before
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert_clean(done, wall)
    assert re.search(
        r"^  change not sent: its undo \(unblock sip:smoky\.cc@dev\.local\) could not be written to the restore "
        r"journal \S+\.jsonl: \[Errno 28\] No space left on device$",
        done.stdout,
        re.M,
    ), done.stdout[-3000:]
    assert summary(done).startswith("LUCS acceptance: 0 passed, 1 failed -> exit 1 (some scenarios failed)")


@WARM_CACHE
def test_a_journal_that_stops_taking_writes_mid_scenario_sends_nothing_unjournaled_and_restores(
    tmp_path: Path, pycache: dict[str, str]
) -> None:
    """After a block and a task were journaled, pytest may write no further byte into the journal:
    the done marks fail and every undo still runs (the old code skipped the rest, "cut short by a
    second interrupt"); the next scenario's callback is not sent, its step fails in one line. Then
    `lucs-acceptance restore`, the journal still unwritable, repeats the open undos and ends clean."""
    journals, paused, resume = tmp_path / "journals", tmp_path / "paused", tmp_path / "resume"
    pause = {"LUCS_TEST_PAUSE_AFTER": TASK, "LUCS_TEST_PAUSED": str(paused), "LUCS_TEST_RESUME": str(resume)}
    selected = ["-p", "tests.realtarget.pause_plugin", "-k", "task_for_a_blocked or descending_order"]
    with mock_thread() as base:
        before, made = lucs_state(base), callbacks_made(base)
        started = time.monotonic()
        run = subprocess.Popen(
            run_args(tmp_path, base, *selected, html=False), cwd=ROOT, env=env_in(tmp_path, **pause, **pycache),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        wait_for(paused.exists, "the task to be posted")
        [journal] = journals.rglob("*.jsonl")
        [suite] = [int(pid) for pid in subprocess.check_output(["pgrep", "-P", str(run.pid)], text=True).split()]
        resource.prlimit(suite, resource.RLIMIT_FSIZE, (journal.stat().st_size, resource.RLIM_INFINITY))
        resume.touch()
        output, _ = run.communicate(timeout=TIMEOUT)
        wall = time.monotonic() - started
        assert lucs_state(base) == before, output[-4000:]
        assert callbacks_made(base) == made  # the callback whose cancel could not be journaled was not sent
        done = subprocess.CompletedProcess(run.args, run.returncode, output, "")
        assert run.returncode == 1, output[-4000:]
        assert_clean(done, wall)
        assert re.search(
            r"^  change not sent: its undo \(cancel callback lucs-harness-\S+\) could not be written to the restore "
            rf"journal {re.escape(str(journal))}: \[Errno 27\] File too large$",
            output,
            re.M,
        ), output[-4000:]
        assert "-> exit 1 (some scenarios failed)" in summary(done)
        entries = [json.loads(line) for line in journal.read_text().splitlines()]
        assert [entry["add"]["operation"] for entry in entries] == ["unblock_user", "close_task"]  # no done mark
        repaired, wall = finished(
            wrapper("restore", "--lucs-base-url", base), env_in(tmp_path, **pycache), limited_to(journal.stat().st_size)
        )
        assert lucs_state(base) == before
    assert repaired.returncode == 0, repaired.stdout[-3000:] + repaired.stderr[-3000:]
    assert_clean(repaired, wall)
    assert "restore: 2 done, 0 not" in repaired.stdout
    assert "undone: unblock sip:smoky.cc@dev.local" in repaired.stdout
    assert not list(journals.rglob("*.jsonl"))


def test_an_unwritable_home_ends_the_run_in_one_line_before_anything_is_sent(tmp_path: Path) -> None:
    """No journal folder configured and a home that cannot hold one: exit 4 naming the folder and
    the option that moves it, instead of a mkdir traceback in every scenario after the preflight."""
    home = uncreatable(tmp_path, "home")
    env = {k: v for k, v in env_in(tmp_path, HOME=str(home)).items() if k not in ("LUCS_JOURNAL_DIR", "XDG_CACHE_HOME")}
    log = tmp_path / "requests.log"
    with mock_process(log=log) as base:
        done, wall = finished(run_args(tmp_path, base), env)
    assert done.returncode == 4, done.stdout[-3000:] + done.stderr[-3000:]
    assert_clean(done, wall)
    folder = home / ".cache" / "lucs-harness" / "journal"
    assert re.search(
        rf"lucs: run ended early \(exit 4\): cannot write in {re.escape(str(folder))}/\w+ \(\[Errno 20\] Not a "
        r"directory\); choose another folder with --lucs-journal-dir \(LUCS_JOURNAL_DIR\)$",
        done.stdout,
        re.M,
    ), done.stdout[-3000:]
    assert "FAILED" not in done.stdout
    selected = len(scenario_tags())
    assert summary(done).startswith(
        f"LUCS acceptance: 0 passed, 0 failed, {selected} not run: the run ended early -> exit 4 "
    )
    assert not [path for method, path in REQUEST.findall(log.read_text()) if path.startswith("/v1.0/")]


@pytest.mark.parametrize(
    ("option", "where", "moved_by"),
    [
        ("--history", ("history", "allure-history.jsonl"), "--history FILE (or --no-history)"),
        ("--reports-dir", ("reports",), "--reports-dir"),
    ],
)
def test_an_unwritable_report_folder_is_refused_before_the_run(
    tmp_path: Path, option: str, where: tuple[str, ...], moved_by: str
) -> None:
    given = uncreatable(tmp_path, *where)
    folder = given.parent if option == "--history" else given
    args = [option, str(given)]
    log = tmp_path / "requests.log"
    with mock_process(log=log) as base:
        done, wall = finished(wrapper(*args, "--", "--lucs-base-url", base), env_in(tmp_path))
    assert done.returncode == 4
    assert (
        done.stderr
        == f"lucs-acceptance: cannot write in {folder} ([Errno 20] Not a directory); choose another with {moved_by}\n"
    )
    assert done.stdout == ""
    assert wall < 10
    assert not [path for method, path in REQUEST.findall(log.read_text()) if path.startswith("/v1.0/")]


def test_an_unwritable_cache_stops_install_allure_in_one_line(tmp_path: Path) -> None:
    cache = uncreatable(tmp_path, "cache")
    done, _ = finished(wrapper("install-allure"), env_in(tmp_path, XDG_CACHE_HOME=str(cache)))
    assert done.returncode == 4
    assert done.stderr == (
        f"lucs-acceptance: Allure 3 not installed: cannot write in {cache / 'lucs-harness'} "
        "([Errno 20] Not a directory); point XDG_CACHE_HOME at another folder\n"
    )
