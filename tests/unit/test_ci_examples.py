"""The CI examples under `ci/` work as written and hold what a gate on a shared LUCS needs: the
harness's own exit code as the gate, pipelines serialised on the LUCS (or coordinated through a
store), caches saved whatever the outcome, least privilege, actions pinned to commits, timeouts,
secrets from the CI's variables. What they run exists and is accepted, the files they keep are the
ones the wrapper writes, and their images need no Node.js of their own."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from lucs_harness.cli import COMMANDS
from lucs_harness.config import FIELDS
from lucs_harness.exit_codes import MEANING
from lucs_harness.option_names import cli_option, env_name
from lucs_harness.reporting.merge import parser as merge_parser
from lucs_harness.reporting.options import DEFAULT_HISTORY
from lucs_harness.reporting.publish import CUCUMBER, HTML, JUNIT, RESULTS
from lucs_harness.reporting.quality_gate import load_known_issues
from tests.support.docs import page
from tests.support.suite import ROOT, run_wrapper

pytestmark = pytest.mark.slow  # waits out deadlines or runs child processes: make test, not make check

CI = ROOT / "ci"
EXAMPLES = sorted(CI.glob("*.yml"))
GITLAB, GITHUB = CI / "gitlab-ci.yml", CI / "github-actions.yml"
MAKEFILE = (ROOT / "Makefile").read_text()
MAKE_TARGETS = set(re.findall(r"^([a-z-]+):", MAKEFILE, re.M))
WRAPPER = ".venv/bin/lucs-acceptance"
SHARD_VARIABLES = {"$CI_NODE_INDEX": "1", "$CI_NODE_TOTAL": "3"}
HISTORY_DIR = str(Path(DEFAULT_HISTORY).parent)
TARGET_NOT_READY = 15  # the coordination work adds it to exit_codes; the examples document it already
# options of the coordination work, named by the examples before this branch has them: checked as text,
# left out of the runs until the configuration knows them
PENDING = frozenset(name for name in ("coordination", "lease_wait") if name not in FIELDS)
SECRET_VARIABLE = re.compile(r"LUCS_\w*(API_KEY|PASSWORD|TOKEN|COORDINATION)\b")
SECRET_OPTIONS = ("--lucs-api-key", "--lucs-password", "--lucs-token", "--lucs-coordination")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40}$")
INSTALL_FILES = {"pyproject.toml", "requirements.lock", "package.json", "package-lock.json"}


@dataclass(frozen=True)
class Invocation:
    """One `.venv/bin/lucs-acceptance ARGS` in a script: what comes before it (a time budget) and ARGS."""

    before: tuple[str, ...]
    args: tuple[str, ...]

    @property
    def is_run(self) -> bool:
        """A run of the suite (the default command), not `merge` or another command."""
        return not (self.args and self.args[0] in COMMANDS and self.args[0] != "run")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """GitLab's `extends`: hashes merge key by key, everything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if both else value
    return out


def gitlab_jobs() -> dict[str, dict[str, Any]]:
    """Every job of the GitLab example with its `extends` resolved, the hidden variants included."""
    config = load(GITLAB)

    def resolve(name: str) -> dict[str, Any]:
        job = config[name]
        parents = job.get("extends", [])
        resolved: dict[str, Any] = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            resolved = merged(resolved, resolve(parent))
        return merged(resolved, {key: value for key, value in job.items() if key != "extends"})

    jobs = {name: resolve(name) for name, job in config.items() if isinstance(job, dict)}
    return {name: job for name, job in jobs.items() if "script" in job}


def github_job() -> dict[str, Any]:
    jobs = load(GITHUB)["jobs"]
    assert list(jobs) == ["acceptance"]
    job = jobs["acceptance"]
    assert isinstance(job, dict)
    return job


def github_steps() -> list[dict[str, Any]]:
    steps = github_job()["steps"]
    assert isinstance(steps, list)
    return steps


def script_lines(job: dict[str, Any]) -> list[str]:
    """A GitLab job's shell lines, before_script first."""
    return [*job.get("before_script", []), *job["script"]]


def invocations(lines: list[str]) -> list[Invocation]:
    found = []
    for line in lines:
        tokens = shlex.split(line)
        if WRAPPER in tokens:
            at = tokens.index(WRAPPER)
            found.append(Invocation(tuple(tokens[:at]), tuple(tokens[at + 1 :])))
    return found


def example_lines(example: Path) -> list[str]:
    """Every shell line an example runs."""
    if example == GITLAB:
        return [line for job in gitlab_jobs().values() for line in script_lines(job)]
    return [line for step in github_steps() for line in str(step.get("run", "")).splitlines()]


def all_invocations() -> list[Invocation]:
    return [found for example in EXAMPLES for found in invocations(example_lines(example))]


def gitlab_suite_jobs() -> dict[str, tuple[dict[str, Any], Invocation]]:
    """The GitLab jobs that run the wrapper, each with its invocation."""
    out = {}
    for name, job in gitlab_jobs().items():
        found = invocations(script_lines(job))
        if found:
            assert len(found) == 1, name
            out[name] = (job, found[0])
    return out


def caches(job: dict[str, Any]) -> list[dict[str, Any]]:
    entries = job.get("cache", [])
    return [entries] if isinstance(entries, dict) else list(entries)


def cached_paths(job: dict[str, Any]) -> set[str]:
    return {path for entry in caches(job) for path in entry["paths"]}


def step_paths(step: dict[str, Any]) -> set[str]:
    return {line.strip() for line in str(step["with"]["path"]).splitlines() if line.strip()}


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).startswith(f"{action}@")


def index_of(steps: list[dict[str, Any]], wanted: str) -> int:
    """The index of the step whose shell runs `wanted`."""
    return next(at for at, step in enumerate(steps) if wanted in str(step.get("run", "")))


def minutes(duration: str) -> float:
    """`25m`, `120s`, `1h` (coreutils `timeout` and GitLab `timeout:` alike) in minutes."""
    match = re.fullmatch(r"(\d+)\s*([smh]?)", duration.strip())
    assert match, duration
    return int(match[1]) * {"s": 1 / 60, "": 1 / 60, "m": 1, "h": 60}[match[2]]


def test_there_are_examples_for_gitlab_and_github_and_the_docs_point_to_them() -> None:
    """docs/ci.md describes both (and the README names them where it tells the exit code is the gate)."""
    assert {path.name for path in EXAMPLES} == {"gitlab-ci.yml", "github-actions.yml"}
    ci_page, readme = page("ci.md"), (ROOT / "README.md").read_text()
    for path in EXAMPLES:
        assert f"ci/{path.name}" in ci_page
        assert f"ci/{path.name}" in readme
        load(path)  # valid YAML
    assert "`ci/known-issues.toml`" in page("reports.md")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_an_example_runs_only_what_exists_and_keeps_what_the_wrapper_writes(example: Path) -> None:
    text = example.read_text()
    for line in example_lines(example):
        tokens = shlex.split(line)
        if tokens[:1] == ["make"]:
            assert {arg for arg in tokens[1:] if not arg.startswith("-") and "=" not in arg} <= MAKE_TARGETS, line
    kept = set(re.findall(r"reports/(?:merged/)?([\w.-]+\b)(?!/?-)", text)) - {"merged"}
    assert kept <= {JUNIT, HTML, CUCUMBER, RESULTS}, kept
    assert {JUNIT, HTML} <= kept
    assert not re.search(r"apt(-get)? install[^\n]*node|setup-node", text)  # Node.js comes from PyPI
    for version in re.findall(r"python(?:-version:\s*\"|:)(3\.\d+)", text):
        assert tuple(map(int, version.split("."))) >= (3, 11)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_the_gate_is_the_wrappers_exit_code_after_make_install(example: Path) -> None:
    lines = example_lines(example)
    assert not any(re.search(r"\bmake\b.*\bacceptance\b", line) for line in lines)  # make exits 2 for them all
    found = invocations(lines)
    assert any(invocation.is_run for invocation in found)
    if example == GITLAB:
        for name, (job, _) in gitlab_suite_jobs().items():
            shell = script_lines(job)
            installs = [at for at, line in enumerate(shell) if shlex.split(line) == ["make", "install"]]
            assert installs, name
            assert installs[0] < next(at for at, line in enumerate(shell) if WRAPPER in line), name
            assert "allow_failure" not in job, name  # every code but 0 fails the job
    else:
        steps = github_steps()
        assert index_of(steps, "make install") < index_of(steps, WRAPPER)
        assert "continue-on-error" not in github_job()
        assert not any("continue-on-error" in step for step in steps)
    header = re.findall(r"(?m)^#\s{3}(.*)$", example.read_text())
    listed = {int(code) for line in header for code in re.findall(r"(?:^|\s{2})(\d{1,3})\s+\w", line)}
    assert {*MEANING, TARGET_NOT_READY} <= listed  # the comment says what each code means for the gate


def test_gitlab_serialises_pipelines_on_the_lucs_per_shard_slot_or_coordinates_them() -> None:
    coordinated, sharded = [], []
    for name, (job, invocation) in gitlab_suite_jobs().items():
        if not invocation.is_run:
            continue
        if "LUCS_COORDINATION" in job.get("variables", {}):
            coordinated.append(name)
            assert "resource_group" not in job, name  # side by side: the store keeps runs apart
        elif "parallel" in job:
            sharded.append(name)
            assert "$CI_NODE_INDEX" in job["resource_group"], name  # one group per shard slot
        else:
            assert job["resource_group"], name
    assert coordinated, "the coordination store is shown as the alternative"
    assert sharded, "the sharded variant is shown"


def test_github_serialises_runs_on_the_lucs_and_never_cancels_one_in_progress() -> None:
    job = github_job()
    assert job["concurrency"]["group"]
    assert job["concurrency"]["cancel-in-progress"] is False
    assert re.fullmatch(r"\$\{\{\s*secrets\.\w+\s*\}\}", job["env"]["LUCS_COORDINATION"])


def test_gitlab_caches_are_saved_whatever_the_outcome_under_keys_of_what_they_hold() -> None:
    for name, (job, invocation) in gitlab_suite_jobs().items():
        entries = caches(job)
        assert len(entries) <= 4, name  # GitLab's limit per job
        for entry in entries:
            assert entry.get("when") == "always" or entry.get("policy") == "pull", (name, entry)
            if ".venv/" in entry["paths"] or "node_modules/" in entry["paths"]:
                assert len(entry["key"]["files"]) <= 2  # GitLab's limit
        files = {file for entry in entries if isinstance(entry["key"], dict) for file in entry["key"]["files"]}
        assert files == INSTALL_FILES, name
        paths = cached_paths(job)
        assert {".venv/", "node_modules/"} <= paths, name
        if "--no-html" not in invocation.args:
            assert f"{HISTORY_DIR}/" in paths, name
        journal = job["variables"]["LUCS_JOURNAL_DIR"]
        assert not Path(journal).is_absolute()  # inside the checkout, where a cache can take it
        if invocation.is_run and "LUCS_COORDINATION" not in job["variables"]:
            assert f"{journal}/" in paths, name


def test_github_saves_history_and_journal_whatever_the_outcome_and_installs_before_the_suite() -> None:
    steps = github_steps()
    suite = index_of(steps, WRAPPER)
    assert not any(uses(step, "actions/cache") for step in steps)  # it saves only after a success
    restores = [step for step in steps if uses(step, "actions/cache/restore")]
    saves = {at: step for at, step in enumerate(steps) if uses(step, "actions/cache/save")}
    for restore in restores:
        assert any(step_paths(save) == step_paths(restore) for save in saves.values())
    journal = github_job()["env"]["LUCS_JOURNAL_DIR"]
    assert not Path(journal).is_absolute()  # inside the workspace, where a cache can take it
    state = [(at, save) for at, save in saves.items() if HISTORY_DIR in step_paths(save)]
    assert len(state) == 1
    at, save = state[0]
    assert at > suite
    assert save["if"] == "always()"
    assert journal in step_paths(save)
    installs = [(at, save) for at, save in saves.items() if ".venv" in step_paths(save)]
    assert len(installs) == 1
    at, save = installs[0]
    assert at < suite  # a failing suite keeps the installs
    assert step_paths(save) == {".venv", "node_modules"}
    restore = next(step for step in restores if step_paths(step) == step_paths(save))
    assert set(re.findall(r"'([^']+)'", restore["with"]["key"])) == INSTALL_FILES  # hashFiles of what they hold
    assert "python-version" in restore["with"]["key"]  # .venv names its interpreter


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_restored_installs_are_marked_current_by_the_stamps_the_makefile_checks(example: Path) -> None:
    stamp = re.search(r"^STAMP := \$\(VENV\)/(\.installed-)", MAKEFILE, re.M)
    node_stamp = re.search(r"^NODE_STAMP := (\S+)$", MAKEFILE, re.M)
    assert stamp
    assert node_stamp
    touched = {tuple(shlex.split(line)) for line in example_lines(example) if line.startswith("touch -c ")}
    assert touched == {("touch", "-c", f".venv/{stamp[1]}*", node_stamp[1])}


def test_github_grants_the_job_only_what_it_needs() -> None:
    assert load(GITHUB)["permissions"] in ({}, {"contents": "read"})
    assert github_job()["permissions"] == {"contents": "read", "checks": "write"}


def test_every_action_is_pinned_to_a_commit_with_its_release_named() -> None:
    refs = [str(step["uses"]) for step in github_steps() if "uses" in step]
    assert refs
    for ref in refs:
        assert PINNED.match(ref), ref
    lines = re.findall(r"uses:\s*(\S+)(.*)", GITHUB.read_text())
    assert len(lines) == len(refs)
    for ref, rest in lines:
        assert re.match(r"\s+# v\d+(\.\d+)*\b", rest), ref
    commits: dict[str, set[str]] = {}
    for ref in refs:
        action, commit = ref.split("@")
        commits.setdefault("/".join(action.split("/")[:2]), set()).add(commit)
    assert all(len(found) == 1 for found in commits.values()), commits  # one release per repository


def test_jobs_have_timeouts_and_the_run_a_shorter_budget_of_its_own() -> None:
    limits = [(minutes(job["timeout"]), invocation) for job, invocation in gitlab_suite_jobs().values()]
    limits += [(float(github_job()["timeout-minutes"]), found) for found in invocations(example_lines(GITHUB))]
    for limit, invocation in limits:
        if not invocation.is_run:
            continue
        before = [token for token in invocation.before if token != "exec"]
        assert before[:1] == ["timeout"], invocation
        assert "--preserve-status" in before, invocation  # the harness's own exit code
        kill_after = next(token.split("=", 1)[1] for token in before if token.startswith("--kill-after="))
        assert minutes(before[-1]) + minutes(kill_after) < limit, invocation  # SIGTERM first: it restores


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_secrets_come_from_the_ci_variables_never_from_the_file(example: Path) -> None:
    text = example.read_text()
    known = {env_name(name) for name in FIELDS} | {env_name(name) for name in PENDING}
    settings = re.findall(r"(?m)^[ \t]*#?[ \t]*(LUCS_\w+):[ \t]*(.+?)[ \t]*(?:#.*)?$", text)
    assert {name for name, _ in settings} <= known  # commented settings included
    secrets = [(name, value) for name, value in settings if SECRET_VARIABLE.fullmatch(name)]
    assert {"LUCS_API_KEY", "LUCS_COORDINATION"} <= {name for name, _ in secrets}
    reference = r"\$\{?[A-Z][A-Z0-9_]*\}?" if example == GITLAB else r"\$\{\{\s*secrets\.[A-Z][A-Z0-9_]*\s*\}\}"
    for name, value in secrets:
        assert re.fullmatch(reference, value), (name, value)
    for invocation in invocations(example_lines(example)):
        assert not any(arg.startswith(SECRET_OPTIONS) for arg in invocation.args)  # they would show in the log


def test_reports_are_kept_whatever_the_outcome() -> None:
    for name, (job, invocation) in gitlab_suite_jobs().items():
        artifacts = job["artifacts"]
        assert artifacts["when"] == "always", name
        if "--no-html" not in invocation.args:
            assert artifacts["expose_as"], name
            assert artifacts["reports"]["junit"].endswith(JUNIT), name
    steps = github_steps()
    for action in ("actions/upload-artifact", "mikepenz/action-junit-report"):
        step = next(step for step in steps if uses(step, action))
        assert step["if"] == "always()", action
    junit = next(step for step in steps if uses(step, "mikepenz/action-junit-report"))
    assert junit["with"]["report_paths"] == f"reports/{JUNIT}"


@pytest.mark.parametrize(
    "arguments",
    sorted({found.args for found in all_invocations() if found.is_run}),
    ids=lambda args: " ".join(args),
)
def test_the_documented_arguments_are_accepted(tmp_path: Path, arguments: tuple[str, ...]) -> None:
    pending = tuple(cli_option(name) for name in PENDING)
    args = []
    for given in arguments:
        arg = given
        for variable, value in SHARD_VARIABLES.items():
            arg = arg.replace(variable, value)
        if not arg.startswith(("--reports-dir", *pending)):
            args.append(arg)
    done = run_wrapper(f"--reports-dir={tmp_path}", "--no-html", "--no-history", *args, "--collect-only", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_the_documented_merge_is_accepted() -> None:
    merges = [found.args for found in all_invocations() if found.args[:1] == ("merge",)]
    assert merges
    for args in merges:
        merge_parser().parse_args(list(args[1:]))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_the_files_an_example_names_exist(example: Path) -> None:
    named = {path for line in example_lines(example) for path in re.findall(r"\bci/[\w./-]+", line)}
    for hashed in re.findall(r"hashFiles\(([^)]*)\)", example.read_text()):
        named |= set(re.findall(r"'([^']+)'", hashed))
    if example == GITLAB:
        for job in gitlab_jobs().values():
            named |= {file for entry in caches(job) if isinstance(entry["key"], dict) for file in entry["key"]["files"]}
    assert "ci/known-issues.toml" in named
    for path in named:
        assert (ROOT / path).is_file(), path


def test_the_known_issues_example_is_a_valid_file() -> None:
    assert load_known_issues(CI / "known-issues.toml") == []
