"""`lucs-acceptance`: the command a QA engineer and a CI job run.

    lucs-acceptance [run] [--reports-dir DIR] [--no-html] [harness and pytest options]
    lucs-acceptance show-config [harness options]   the effective configuration, secrets masked
    lucs-acceptance restore [harness options]       undo what earlier runs left on the target
    lucs-acceptance steps [--grep TEXT] [--world]   the steps a feature can use: the harness's and the
                                                    project's own; --world: what a step of your own calls
    lucs-acceptance init [DIR] [--ci github]        a project of your own, green against the mock at once
    lucs-acceptance merge DIR... [--reports-dir D]  one report of a run's shards (`--lucs-shard I/N`)
    lucs-acceptance doctor [harness options] [--write-profile NAME]
                                                    first contact: what this LUCS needs, read-only
                                                    (with --lucs-allow-changes: a calibration round)
    lucs-acceptance install-allure                  Allure 3 for the HTML report and the quality gate,
                                                    where the harness is installed as a package

Harness options (`--lucs-*`) and pytest options (`-k`, `-m`, `-n 2`, ...) go straight after the
command; everything after a `--` goes to pytest (the older `lucs-acceptance -- ARGS`). A value of a
harness option is joined to it (`--lucs-lease-dir=/x`): see `joined`.
"""

from __future__ import annotations

import argparse
import re
import sys

from lucs_harness.errors import GateError
from lucs_harness.exit_codes import USAGE
from lucs_harness.option_names import FLAG_FIELDS, OTHER_OPTIONS, cli_option, env_name
from lucs_harness.reporting.options import add_report_options, publishing
from lucs_harness.reporting.publish import publish
from lucs_harness.wrapper import Forwarder, run_suite

COMMANDS = ("run", "show-config", "restore", "steps", "init", "merge", "doctor", "install-allure")
GROUPS: dict[str, tuple[str, ...]] = {
    "target": (
        "base_url", "service_id", "user", "agents", "paths", "presence_field", "task_states", "close_by",
    ),
    "fleet": ("coordination", "lease_wait", "lease_dir", "journal_dir", "journal_key"),
    "authentication": (
        "auth", "username", "password", "token", "api_key", "api_key_header",
        "verify_tls", "ca_bundle", "client_cert", "client_key", "proxy",
        "allow_redirects",
    ),
    "safety": (
        "allow_changes", "dry_run", "reruns", "close_tasks", "restore_timeout", "orphan_task_age",
        "strict_schema",
    ),
    "recording": ("record",),
    "waits": (
        "connect_timeout", "read_timeout", "exchange_timeout", "wait_timeout", "hold_time", "poll_interval",
        "get_retries", "unreachable_after", "max_response_mb",
    ),
}  # fmt: skip


def harness_help() -> str:
    """The `--lucs-*` options by group, each with its environment variable and default."""
    from lucs_harness.config import default_of, help_of  # only for the help, not before every run

    blocks = []
    for group, names in GROUPS.items():
        lines = [f"{group}:"]
        for name in names:
            default = default_of(name)
            shown = "" if default in (None, [], {}) else f" (default: {default})"
            lines.append(f"  {cli_option(name):28} {help_of(name)}{shown} [{env_name(name)}]")
        blocks.append("\n".join(lines))
    others = [f"  {f'{option} {metavar}':28} {text}" for option, metavar, text in OTHER_OPTIONS]
    blocks.append("\n".join(["configuration:", *others]))
    return "\n\n".join(blocks)


class _Parser(argparse.ArgumentParser):
    """Writes the harness options into its help only when the help is shown: they are read from
    the configuration model, which a run's wrapper does not otherwise load."""

    def format_help(self) -> str:
        if self.epilog is None:
            self.epilog = f"{harness_help()}\n\nAny pytest option works too (-k, -m, -n 2, --lf, ...).\n\n{__doc__}"
        return super().format_help()


def parser() -> argparse.ArgumentParser:
    cli = _Parser(
        prog="lucs-acceptance",
        description="Run the LUCS acceptance suite and publish its reports.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # `--re` must stay pytest's, not become --reports-dir
    )
    add_report_options(cli)
    return cli


# the plugin's other options that take a value (tags.py, shard.py, selection.py)
PLUGIN_VALUE_OPTIONS = frozenset({"--lucs-tags", "--lucs-shard", "--lucs-durations", "--lucs-name", "--lucs-line"})
# the wrapper's short forms of plugin options (in pytest every option of the harness is `--lucs-*`)
SHORT_FORMS = {"--tags": "--lucs-tags", "--name": "--lucs-name"}
# a scenario by a line of its feature file, as cucumber takes it; pytest would look for a file of that name
FEATURE_LINE = re.compile(r"[^-].*\.feature(?::\d+)+")


def value_options() -> frozenset[str]:
    """The harness's options that take a value (the flags take none)."""
    taking = {cli_option(name) for names in GROUPS.values() for name in names if name not in FLAG_FIELDS}
    return frozenset(taking | {option for option, _, _ in OTHER_OPTIONS} | PLUGIN_VALUE_OPTIONS)


def joined(argv: list[str]) -> list[str]:
    """`--lucs-lease-dir /x` as `--lucs-lease-dir=/x`, `--tags @a` as `--lucs-tags=@a`: pytest settles
    its root folder before it loads plugins, so it would take a separate value for a test path (and
    an argument that starts with @ for a file of arguments); short forms become the plugin's options,
    and `x.feature:LINE` becomes `--lucs-line=x.feature:LINE`."""
    taking = value_options()
    out: list[str] = []
    for given in argv:
        name, equals, value = given.partition("=")
        arg = SHORT_FORMS[name] + equals + value if name in SHORT_FORMS else given
        if out and out[-1] in taking:
            out[-1] = f"{out[-1]}={arg}"
        elif FEATURE_LINE.fullmatch(arg):
            out.append(f"--lucs-line={arg}")
        else:
            out.append(arg)
    return out


def split(argv: list[str]) -> tuple[str, list[str], list[str]]:
    """The command, the arguments before a `--`, and those after it (for pytest)."""
    command = argv[0] if argv[:1] and argv[0] in COMMANDS else "run"
    rest = argv[1:] if argv[:1] == [command] else argv
    if "--" in rest:
        cut = rest.index("--")
        return command, rest[:cut], rest[cut + 1 :]
    return command, rest, []


def main(argv: list[str] | None = None) -> int:
    forwarder = Forwarder()
    forwarder.install()  # first: a Ctrl-C while starting is passed on, not a traceback
    command, ours, theirs = split(sys.argv[1:] if argv is None else argv)
    if command == "steps":
        from lucs_harness.catalogue import main as steps  # imports the step library: only when asked

        forwarder.suite_done = True  # no suite runs: a stop request stops the listing
        return steps([*ours, *theirs])
    if command == "init":
        from lucs_harness.init import main as init

        forwarder.suite_done = True  # no suite runs: a stop request stops the doctor init may run
        return init(joined([*ours, *theirs]))  # joined: a --lucs-* value is no folder
    if command == "merge":
        from lucs_harness.reporting.merge import main as merge

        forwarder.suite_done = True  # no suite runs: a stop request stops the merge
        return merge([*ours, *theirs])
    if command == "doctor":
        from lucs_harness.doctor import main as doctor

        forwarder.suite_done = True  # no suite runs: a stop request stops the doctor, which undoes its changes
        return doctor([*ours, *theirs])
    if command == "install-allure":
        return _install_allure()
    ours, theirs = joined(ours), joined(theirs)
    if command == "show-config":
        return run_suite(["--lucs-show-config", *ours, *theirs], forwarder)
    if command == "restore":
        return run_suite(["--lucs-restore-only", *ours, *theirs], forwarder)
    args, pytest_args = parser().parse_known_args(ours)
    try:
        chosen = publishing(args)
    except GateError as error:
        print(f"lucs-acceptance: {error}", file=sys.stderr)
        return USAGE
    return publish([*pytest_args, *theirs], forwarder, chosen)


def _install_allure() -> int:
    """Allure 3 for the HTML report and the quality gate, where no checkout's `make install` put it."""
    from lucs_harness.errors import AllureError, CacheUnwritable
    from lucs_harness.reporting.allure_cli import install_allure

    try:
        print(f"lucs-acceptance: Allure 3 installed: {install_allure()}")
    except AllureError as error:
        print(f"lucs-acceptance: Allure 3 not installed: {error}", file=sys.stderr)
        return USAGE if isinstance(error, CacheUnwritable) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
