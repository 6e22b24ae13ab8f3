"""Benchmark: what the feature suite costs, each figure against its reference from the same sitting
(rounds interleaved, medians), so a busy machine moves both alike.

Prints:
- suite: the wall time of a whole `pytest tests/acceptance` process against the embedded mock;
- client: time per call of the client exactly as a scenario has it (the plugin's `lucs_client`
  fixture, its listeners and Allure attachments, run inside a scenario with `--alluredir`) against
  raw `requests` with the same proxy settings on the same mock (goal: ratio <= 1.3); once with the
  results in the temporary folder, once on tmpfs, with how long creating a file takes in each;
- reports: a 200-scenario outline on the embedded mock with every report a suite run writes
  (Allure results, JUnit, Cucumber) against none (goal: ratio <= 1.3);
- startup: one 3-step scenario of `tests/acceptance`, invoked as `pytest`, `python -m pytest` and
  as `lucs-acceptance` invokes it, against the floor: a bare pytest-bdd project with Allure running
  one 3-step scenario (goal: within 0.2 s of the floor).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.support import CLIENT_COST_ENV, OUTLINE_ENV, outline, timed
from lucs_harness.reporting.exchanges import write_new
from lucs_harness.reporting.publish import report_args
from lucs_harness.wrapper import UNUSED_PLUGINS, pytest_command
from tests.support.suite import child_env, suite_command

SECTIONS = ("suite", "client", "reports", "startup")
THREE_STEPS = "test_the_target_user_is_listed_as_selectable_and_not_blocked"  # Background, When, Then
FLOOR_FEATURE = """Feature: Floor
  Scenario: Three steps
    Given a start
    When something happens
    Then it is seen
"""
FLOOR_STEPS = """from pytest_bdd import given, scenarios, then, when

scenarios("floor.feature")


@given("a start")
def start() -> None:
    pass


@when("something happens")
def happens() -> None:
    pass


@then("it is seen")
def seen() -> None:
    pass
"""


def settle_deletions() -> None:
    """Commit the files deleted so far (the last round's reports) before timing the next run: on
    ext4 mounted with `discard` (common on cloud disks) the commit that frees them makes creating
    files 5-10 times slower for seconds, which the measured run would pay for the benchmark's
    cleanup. A CI job's fresh checkout has nothing to free."""
    os.sync()


def interleaved(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each run once to warm the bytecode caches, then `rounds` rounds of all of them in turn."""
    for run in runs.values():
        run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            samples[name].append(run())
    return samples


def shown(values: list[float], unit: str = "s", digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} {unit} [{', '.join(f'{v:.{digits}f}' for v in values)}]"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def suite_wall_time(rounds: int) -> None:
    samples = interleaved({"suite": lambda: timed(suite_command("-q"))}, rounds)["suite"]
    print(f"suite: `pytest tests/acceptance` on the embedded mock, whole process: {shown(samples)}")


def client_cost() -> None:
    """The figure on the disk the suite writes to, and again with the results on tmpfs: what the
    harness costs itself. A file per exchange makes the disk part of it: its speed is shown too."""
    folders = {"temporary folder": Path(tempfile.gettempdir()), "tmpfs": Path("/dev/shm")}
    for place, parent in folders.items():
        if not parent.is_dir():
            continue
        with tempfile.TemporaryDirectory(prefix="lucs-bench-", dir=parent) as scratch:
            out, results = Path(scratch) / "client-cost.json", Path(scratch) / "allure"
            command = suite_command("-q", f"--alluredir={results}", tests="benchmarks/client_cost")
            settle_deletions()
            timed(command, env=child_env(**{CLIENT_COST_ENV: str(out)}))
            figures = json.loads(out.read_text(encoding="utf-8"))
            create = file_creation_us(Path(scratch) / "probe")
        median = figures["median_ms"]
        ratio, bare = median["client"] / median["raw"], median["bare"] / median["raw"]
        proxy = f"trust_env={figures['trust_env']}, explicit proxies={figures['proxies']} (both)"
        print(f"client, Allure results in a {place} ({parent}, creating a 19 KB file there: {create:.0f} us):")
        print(f"  the scenario's client, listeners {', '.join(figures['listeners'])}; {proxy}")
        print(
            f"  per call: client {median['client']:.3f} ms, raw requests {median['raw']:.3f} ms, "
            f"client without listeners {median['bare']:.3f} ms"
        )
        print(f"  client/raw {ratio:.2f} (goal <= 1.3: {verdict(ratio <= 1.3)}); without listeners/raw {bare:.2f}")


def file_creation_us(folder: Path, files: int = 300) -> float:
    """Median time to create and write a file of an attachment's size in `folder`, as the suite's
    Allure attachments are written (`write_new`)."""
    folder.mkdir()
    data, samples = b"x" * 19_000, []
    for n in range(files):
        started = time.perf_counter()
        write_new(str(folder / f"{n}-attachment.json"), data)
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def reports_on_off(scenarios: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="lucs-bench-") as scratch, outline(scenarios) as feature:
        env = child_env(**{OUTLINE_ENV: str(feature)})
        reports = Path(scratch) / "reports"

        def on() -> float:
            shutil.rmtree(reports, ignore_errors=True)
            reports.mkdir()
            settle_deletions()
            return timed(suite_command("-q", *report_args(reports), tests="benchmarks/parallel"), env=env)

        def off() -> float:
            return timed(suite_command("-q", tests="benchmarks/parallel"), env=env)

        samples = interleaved({"on": on, "off": off}, rounds)
    ratio = statistics.median(samples["on"]) / statistics.median(samples["off"])
    print(f"reports: {scenarios}-scenario outline on the embedded mock, serial")
    print(f"  Allure results + JUnit + Cucumber: {shown(samples['on'])}; none: {shown(samples['off'])}")
    print(f"  on/off {ratio:.2f} (goal <= 1.3: {verdict(ratio <= 1.3)})")


def startup(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="lucs-bench-") as scratch:
        folder = Path(scratch)
        floor = folder / "floor"
        floor.mkdir()
        (floor / "floor.feature").write_text(FLOOR_FEATURE, encoding="utf-8")
        (floor / "test_floor.py").write_text(FLOOR_STEPS, encoding="utf-8")
        allure = ["-q", "-p", "no:cacheprovider", f"--alluredir={folder / 'allure'}"]
        blocked = [option for name in ("lucs", *UNUSED_PLUGINS) for option in ("-p", f"no:{name}")]
        selected = ["tests/acceptance", "-k", THREE_STEPS, *allure]
        script = str(Path(sys.executable).with_name("pytest"))
        runs = {
            "floor": lambda: timed([sys.executable, "-m", "pytest", *blocked, *allure, "."], cwd=floor),
            "pytest": lambda: timed([script, *selected]),
            "python -m pytest": lambda: timed([sys.executable, "-m", "pytest", *selected]),
            "as lucs-acceptance": lambda: timed(pytest_command(*selected)),
        }
        samples = interleaved(runs, rounds)
    floor_time = statistics.median(samples.pop("floor"))
    print(f"startup: one 3-step scenario; floor (bare pytest-bdd + Allure, 3 steps): {floor_time:.3f} s")
    for name, values in samples.items():
        extra = statistics.median(values) - floor_time
        print(f"  {name:18} {shown(values, digits=3)}  floor {extra:+.3f} s (goal <= +0.2: {verdict(extra <= 0.2)})")


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    cli.add_argument("--rounds", type=int, default=5, help="rounds of the process-level figures")
    cli.add_argument("--scenarios", type=int, default=200, help="size of the reports on/off outline")
    args = cli.parse_args(argv)
    chosen = args.only.split(",")
    if "suite" in chosen:
        suite_wall_time(args.rounds)
    if "client" in chosen:
        client_cost()
    if "reports" in chosen:
        reports_on_off(args.scenarios, args.rounds)
    if "startup" in chosen:
        startup(args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
