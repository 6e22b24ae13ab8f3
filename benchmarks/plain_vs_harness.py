"""Benchmark: the harness against what a team would write instead (goal: harness/plain <= 1.0x).

The Control Users scenarios of `features/control_users.feature`, both ways against one `lucs-mock
serve` (latency 0), reset (`POST /_mock/reset`) before every run:

- plain: one pytest module with requests and jsonschema (`benchmarks/plain/control_users_plain.py`),
  run as `python -m pytest <module> -q -p no:cacheprovider`, the mock's root in
  `BENCH_PLAIN_BASE_URL`. Its folder is a project of its own and no installed plugin loads
  (`PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`), as in a team's virtualenv holding pytest, requests and
  jsonschema alone;
- harness: `lucs-acceptance --no-html --no-history --reports-dir <tmp> -- --lucs-base-url <mock>
  --lucs-allow-changes --lucs-hold-time 0 --lucs-tags @control-users`.

Each figure is the wall time of the whole child process, as a user pays it, in interleaved rounds
(the order alternates; one warm-up round first, not counted), and their medians. The floor is a
trivial pytest run (one empty test, no plugin): what any run costs before its first test. Also
timed: the plain module as run from this repository's virtualenv with every installed pytest plugin
loading (schemathesis, hypothesis, pytest-bdd, ...), which a team's virtualenv would not hold.

The test counts of the two runs must equal the feature's (every Examples row one test), and every
run must leave the target user as it found it. Prints the ratio whatever it is and exits 0: it is a
measurement, not a test.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import requests
from pytest_bdd.parser import FeatureParser

from lucs_harness.mock.control import MockControl
from tests.realtarget.support import mock_process
from tests.support.suite import FEATURES, ROOT, child_env

PLAIN = Path("benchmarks/plain/control_users_plain.py")  # from ROOT
BASE_URL_ENV = "BENCH_PLAIN_BASE_URL"  # as the plain module reads it
FEATURE = "control_users.feature"
TAG = "@control-users"
SERVICE = "7830678b-03b1-4e71-af33-a3987142519f"
TARGET = "sip:smoky.cc@dev.local"
AS_FOUND = {"IsBlockedByLuwareApi": False, "IsSelectable": True, "NotSelectableReason": None, "PresenceState": "Online"}
GOAL = 1.0
NO_PLUGINS = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def feature_counts() -> tuple[int, int]:
    """The feature's scenarios (an outline once) and its tests (an outline once per Examples row)."""
    feature = FeatureParser(str(FEATURES), FEATURE).parse()
    templates = list(feature.scenarios.values())
    tests = sum(sum(len(examples.examples) for examples in template.examples) or 1 for template in templates)
    return len(templates), tests


def run(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, str]:
    """Wall time and output of one child process, which must succeed."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return elapsed, done.stdout


def passed(output: str) -> int:
    """The tests pytest's summary line counts as passed (none may fail: the run succeeded)."""
    found = re.findall(r"(\d+) passed", output)
    if not found:
        raise SystemExit(f"no pytest summary in:\n{output[-2000:]}")
    return int(found[-1])


def junit_tests(reports: Path) -> int:
    """The tests the harness's JUnit report counts."""
    return sum(int(suite.get("tests", "0")) for suite in ET.parse(reports / "junit.xml").getroot().iter("testsuite"))


def changed(base: str) -> list[str]:
    """What the target user shows that differs from how the seed has it (a run that did not undo)."""
    users = requests.get(f"{base}/v1.0/services/{SERVICE}/users", timeout=10).json()
    user = next(u for u in users if u["SipUri"] == TARGET)
    return [f"{key}={user.get(key)!r}" for key, value in AS_FOUND.items() if user.get(key) != value]


def harness_command(base: str, reports: Path) -> list[str]:
    script = Path(sys.executable).with_name("lucs-acceptance")
    wrapper = [str(script)] if script.exists() else [sys.executable, "-m", "lucs_harness.cli"]
    pytest_args = ["--lucs-base-url", base, "--lucs-allow-changes", "--lucs-hold-time", "0", "--lucs-tags", TAG]
    return [*wrapper, "--no-html", "--no-history", "--reports-dir", str(reports), "--", *pytest_args]


def measure(rounds: int, venv_plugins: bool) -> None:
    scenarios, tests = feature_counts()
    plain_command = [sys.executable, "-m", "pytest", str(PLAIN), "-q", "-p", "no:cacheprovider"]
    with tempfile.TemporaryDirectory(prefix="lucs-bench-plain-") as scratch, mock_process() as base:
        floor_dir = Path(scratch) / "floor"
        floor_dir.mkdir()
        (floor_dir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        (floor_dir / "test_empty.py").write_text("def test_nothing() -> None:\n    pass\n", encoding="utf-8")
        reports = Path(scratch) / "reports"
        control = MockControl(base)
        left: list[str] = []

        def floor() -> float:
            command = [sys.executable, "-m", "pytest", "test_empty.py", "-q", "-p", "no:cacheprovider"]
            elapsed, output = run(command, child_env(**NO_PLUGINS), cwd=floor_dir)
            if passed(output) != 1:
                raise SystemExit(f"the floor ran {passed(output)} tests, not 1")
            return elapsed

        def plain(extra: dict[str, str]) -> Callable[[], float]:
            def timed() -> float:
                control.reset()
                elapsed, output = run(plain_command, child_env(**{BASE_URL_ENV: base}, **extra))
                if passed(output) != tests:
                    raise SystemExit(f"the plain module ran {passed(output)} tests, the feature has {tests}")
                left.extend(f"plain: {what}" for what in changed(base))
                return elapsed

            return timed

        def harness() -> float:
            control.reset()
            shutil.rmtree(reports, ignore_errors=True)
            reports.mkdir()
            elapsed, _ = run(harness_command(base, reports), child_env())
            if junit_tests(reports) != tests:
                raise SystemExit(f"the harness ran {junit_tests(reports)} tests, the feature has {tests}")
            left.extend(f"harness: {what}" for what in changed(base))
            return elapsed

        kinds: dict[str, Callable[[], float]] = {"floor": floor, "plain": plain(NO_PLUGINS), "harness": harness}
        if venv_plugins:
            kinds["plain, venv plugins"] = plain({})
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        print(f"plain vs harness: features/{FEATURE} against one lucs-mock serve (latency 0), reset before every run")
        print(f"  the feature: {scenarios} scenarios, {tests} tests (an outline once per Examples row)")
        print(f"  plain: python {' '.join(plain_command[1:])} (requests {version('requests')}, jsonschema "
              f"{version('jsonschema')}; {BASE_URL_ENV}=<mock>; no installed plugin loads)")  # fmt: skip
        print(f"  harness: lucs-acceptance {' '.join(harness_command('<mock>', Path('<tmp>'))[1:])}")
        print("  floor: python -m pytest test_empty.py -q -p no:cacheprovider (one empty test, no plugin)")
        names = list(kinds)
        for number in range(rounds + 1):
            order = names if number % 2 else names[::-1]
            timings = {kind: kinds[kind]() for kind in order}
            shown = ", ".join(f"{kind} {timings[kind]:.2f} s" for kind in names)
            if number == 0:
                print(f"  warm-up (not counted): {shown}")
                continue
            print(f"  round {number}: {shown}")
            for kind, elapsed in timings.items():
                samples[kind].append(elapsed)
    median = {kind: statistics.median(values) for kind, values in samples.items()}
    low = median["floor"]
    print(f"  tests per run: plain {tests}, harness {tests} (both equal to the feature's)")
    print(f"  medians of {rounds} rounds: floor {low:.2f} s; plain {median['plain']:.2f} s "
          f"({median['plain'] - low:.2f} s over the floor); harness {median['harness']:.2f} s "
          f"({median['harness'] - low:.2f} s over the floor)")  # fmt: skip
    ratio = median["harness"] / median["plain"]
    print(f"  harness/plain {ratio:.2f}x (goal <= {GOAL:.1f}x: {'ok' if ratio <= GOAL else 'MISSED'})")
    if venv_plugins:
        loaded = median["plain, venv plugins"]
        print(f"  plain with every plugin of this virtualenv loading: {loaded:.2f} s; harness/that "
              f"{median['harness'] / loaded:.2f}x")  # fmt: skip
    print("  every run left the target user as it found it" if not left else f"  left changed: {'; '.join(left)}")


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians)")
    cli.add_argument(
        "--no-venv-plugins", action="store_true", help="skip the plain run with this virtualenv's plugins loading"
    )
    args = cli.parse_args(argv)
    measure(args.rounds, not args.no_venv_plugins)
    return 0


if __name__ == "__main__":
    sys.exit(main())
