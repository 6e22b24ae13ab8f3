"""`lucs-acceptance init [DIR]`: a team's own acceptance project, written from the templates shipped in
the package (`project_template/`) and the repository's CI examples, green against the embedded mock
at once. Nothing is overwritten: when any of its files exists, nothing is written (exit 4).

With `--lucs-base-url URL` (and any other `--lucs-*` option the doctor takes) the doctor examines
that LUCS, read-only, and writes what it found as a profile into the new lucs.toml; when it cannot
(unreachable, credentials refused, a usage error), the profile holds the base URL, what was given
and the fields left to fill in, and the output says so.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from string import Template

from lucs_harness.doctor.profile import PROFILE_NAME
from lucs_harness.exit_codes import PASSED, USAGE
from lucs_harness.init_profile import profile_for

PROG = "lucs-acceptance init"
TEMPLATES = Path(__file__).with_name("project_template")
# the CI examples: packaged beside the templates in a wheel, at the root of a checkout
CI_EXAMPLES = next((d for d in (TEMPLATES / "ci", Path(__file__).resolve().parents[1] / "ci") if d.is_dir()), TEMPLATES)
CI_FILES = {
    "gitlab": (".gitlab-ci.yml", "gitlab-ci.yml"),
    "github": (".github/workflows/lucs-acceptance.yml", "github-actions.yml"),
}
DEFAULT_PROFILE = "staging"


@dataclass(frozen=True)
class Planned:
    """One file of the project: where it goes, what it is written from, and what it is for."""

    path: str  # relative to the project's folder
    source: Path
    what: str
    filled: bool = False  # a string.Template: $name, $requirement, $ci_file


def plan(ci: str) -> list[Planned]:
    """The project's files, in the order the output lists them."""
    ci_file, example = CI_FILES[ci]
    return [
        Planned("pyproject.toml", TEMPLATES / "pyproject.toml.tmpl", "depends on the harness", filled=True),
        Planned("conftest.py", TEMPLATES / "conftest.py.tmpl", "opts in to the harness; a step of your own"),
        Planned("features/agents.feature", TEMPLATES / "agents.feature.tmpl", "one scenario"),
        Planned("tests/test_features.py", TEMPLATES / "test_features.py.tmpl", "binds the features to pytest"),
        Planned("lucs.toml", TEMPLATES / "lucs.toml.tmpl", "the configuration: none needed against the mock"),
        Planned(".gitignore", TEMPLATES / "gitignore.tmpl", "what runs and installs leave, and .env"),
        Planned("Makefile", TEMPLATES / "Makefile.tmpl", "`make install`, which the CI file runs"),
        Planned(ci_file, CI_EXAMPLES / example, "the CI job"),
        Planned("ci/known-issues.toml", CI_EXAMPLES / "known-issues.toml", "known LUCS defects for the gate"),
        Planned("README.md", TEMPLATES / "README.md.tmpl", "how to run it, write steps, reach a LUCS", filled=True),
    ]


def requirement(installed: str | None) -> str:
    """The harness this project depends on: this version up to the next breaking one (the next
    minor while the major is 0, else the next major); any version when it is not known."""
    numbers = re.match(r"(\d+)\.(\d+)", installed or "")
    if installed is None or numbers is None:
        return "lucs-harness[html]"
    major, minor = int(numbers.group(1)), int(numbers.group(2))
    upper = f"0.{minor + 1}" if major == 0 else str(major + 1)
    return f"lucs-harness[html]>={installed},<{upper}"


def harness_version() -> str | None:
    try:
        return version("lucs-harness")
    except PackageNotFoundError:
        return None


def project_name(folder: Path) -> str:
    """A distribution name from the folder's name (lower case, words joined by hyphens)."""
    name = re.sub(r"[^a-z0-9]+", "-", folder.resolve().name.lower()).strip("-")
    return name or "lucs-acceptance"


def write(folder: Path, planned: list[Planned], values: dict[str, str]) -> None:
    for file in planned:
        text = file.source.read_text(encoding="utf-8")
        target = folder / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(text).substitute(values) if file.filled else text, encoding="utf-8")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{PROG}: {message}", file=sys.stderr)
        raise SystemExit(USAGE)


def parser() -> argparse.ArgumentParser:
    cli = _Parser(
        prog=PROG,
        description="Write a LUCS acceptance project of your own into DIR: its pyproject.toml (the harness as its "
        "dependency), a feature with one scenario, its binding, a conftest.py with one step of your own, "
        "lucs.toml, .gitignore, a Makefile, a CI job and a README. Existing files are never overwritten.",
        epilog="Other --lucs-* options (--lucs-service-id, --lucs-user, --lucs-auth, ...) go to the doctor with "
        "--lucs-base-url; secrets come from the environment (LUCS_API_KEY, ...).",
    )
    cli.add_argument("dir", nargs="?", default=".", type=Path, metavar="DIR", help="the project's folder (.)")
    cli.add_argument("--ci", choices=sorted(CI_FILES), default="gitlab", help="the CI job to write (gitlab)")
    cli.add_argument(
        "--lucs-base-url",
        metavar="URL",
        help="your LUCS: the doctor examines it (read-only) and writes its profile into lucs.toml",
    )
    cli.add_argument(
        "--write-profile",
        metavar="NAME",
        default=DEFAULT_PROFILE,
        help=f"the name of that profile ({DEFAULT_PROFILE}): runs choose it with --lucs-profile NAME",
    )
    return cli


def main(argv: Sequence[str]) -> int:
    """Exit 0 when the project was written (whatever the doctor found), 4 on a usage error or when
    a file exists already."""
    try:
        args, doctor_args = parser().parse_known_args(list(argv))
    except SystemExit as done:
        return PASSED if done.code == 0 else USAGE
    stray = [arg for arg in doctor_args if not arg.startswith("--lucs-")]
    wrong = [
        f"unrecognized arguments: {' '.join(stray)}" if stray else "",
        "--lucs-* options need --lucs-base-url" if doctor_args and not args.lucs_base_url else "",
        "--write-profile: letters, digits, - and _ only" if not PROFILE_NAME.fullmatch(args.write_profile) else "",
    ]
    if any(wrong):
        print(f"{PROG}: {next(what for what in wrong if what)}", file=sys.stderr)
        return USAGE
    doctor_argv = [f"--lucs-base-url={args.lucs_base_url}", *doctor_args] if args.lucs_base_url else []
    if doctor_argv and not doctor_accepts(doctor_argv):
        return USAGE
    folder: Path = args.dir
    planned = plan(args.ci)
    there = [file.path for file in planned if (folder / file.path).exists()]
    if there or (folder.exists() and not folder.is_dir()):
        said = f"has {', '.join(there)} already" if there else "is not a folder"
        print(f"{PROG}: {folder} {said}; nothing was written", file=sys.stderr)
        return USAGE
    ci_file = CI_FILES[args.ci][0]
    dependency = requirement(harness_version())
    try:
        write(folder, planned, {"name": project_name(folder), "requirement": dependency, "ci_file": ci_file})
    except OSError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return USAGE
    print(f"{PROG}: a LUCS acceptance project in {folder.resolve()}:")
    width = max(len(file.path) for file in planned)
    for file in planned:
        detail = f"{file.what} ({dependency})" if file.path == "pyproject.toml" else file.what
        print(f"  {file.path:<{width}}  {detail}")
    written = None
    if doctor_argv:
        said, written = profile_for(folder / "lucs.toml", args.write_profile, doctor_argv)
        print(f"\nlucs.toml: {said}")
    print(next_steps(folder, args.write_profile, written))
    return PASSED


def doctor_accepts(argv: list[str]) -> bool:
    """The doctor's options checked before anything is written (the doctor names what it refuses)."""
    from lucs_harness.doctor import parser as doctor_parser

    try:
        doctor_parser().parse_args(argv)
    except SystemExit:
        return False
    return True


def next_steps(folder: Path, profile: str, doctor_wrote: bool | None) -> str:
    """The commands to run next: in the project's folder, against the mock, then a real LUCS: with
    the profile the doctor wrote, else the doctor (for the profile to complete, if init wrote one)."""
    from lucs_harness.reporting.allure_cli import allure_cli

    lines = ["\nNext:"]
    if folder.resolve() != Path.cwd().resolve():
        lines.append(f"  cd {folder}")
    if allure_cli() is None:
        lines.append("  lucs-acceptance install-allure   # once per machine: Allure 3 for the HTML report")
    lines += [
        "  lucs-acceptance                  # the scenario against the embedded mock LUCS: 1 passed",
        "  lucs-acceptance steps            # the steps a feature can use, this project's own included",
        "  lucs-acceptance steps --world    # what a step of your own can call: what each sends and asserts",
    ]
    if doctor_wrote:
        lines.append(f"  lucs-acceptance --lucs-profile {profile}   # the scenario against your LUCS")
    elif doctor_wrote is False:
        lines.append(f"  lucs-acceptance doctor --lucs-profile {profile} --write-profile {profile}   # once filled in")
    else:
        lines.append(f"  lucs-acceptance doctor --lucs-base-url URL ... --write-profile {profile}   # your LUCS next")
    lines.append("  git init && git add . && git commit -m 'LUCS acceptance project'")
    return "\n".join(lines)
