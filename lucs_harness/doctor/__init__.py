"""`lucs-acceptance doctor`: first contact with an unknown LUCS.

Read-only by default (GET requests only): reachability and TLS, the credentials (an API key's
placement found among the usual ones when it was not configured), the service, the target user and
the agent pool as they are now, and each operation's route. With `--lucs-allow-changes`, one
calibration round on the target user finds the setpresence body field, the task State names and
the close call, every change undone. `--write-profile NAME` writes what was found into lucs.toml;
`--capture FILE` saves the services and users as `lucs-mock serve --data` reads them.

One line per finding, then the verdict; the exit code is 0 when the suite can run as configured
(with the profile, if one was written), else that of the first problem (10 unreachable, 11
credentials refused, 1 any other, 4 a usage error).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lucs_harness.config import FIELDS, LucsConfig, add_field_options, load_config, option_dest
from lucs_harness.doctor.calibration import calibrate
from lucs_harness.doctor.findings import Diagnosis
from lucs_harness.doctor.probes import authenticate, client_for, reach, routes, service_and_users
from lucs_harness.doctor.profile import write_profile
from lucs_harness.errors import ConfigError, ProfileError
from lucs_harness.exit_codes import CREDENTIALS_REFUSED, FAILED, INTERRUPTED, PASSED, USAGE
from lucs_harness.option_names import OTHER_OPTIONS

PROG = "lucs-acceptance doctor"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        print(f"{PROG}: {message}", file=sys.stderr)
        raise SystemExit(USAGE)


def parser() -> argparse.ArgumentParser:
    cli = _Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--write-profile", metavar="NAME", help="write what was found as profile NAME into lucs.toml")
    cli.add_argument("--capture", metavar="FILE", type=Path, help="save the services and users for lucs-mock --data")
    for option, metavar, text in OTHER_OPTIONS:
        if option != "--lucs-mock-fault":
            cli.add_argument(option, metavar=metavar, help=text)
    add_field_options(cli.add_argument)
    return cli


def configuration(args: argparse.Namespace) -> LucsConfig:
    cli = {name: getattr(args, option_dest(name)) for name in FIELDS}
    return load_config(
        cli=cli,
        config_file=Path(args.lucs_config) if args.lucs_config else None,
        profile=args.lucs_profile,
        root=Path.cwd(),
    )


def examine(config: LucsConfig, diagnosis: Diagnosis, *, capture: Path | None = None) -> int:
    """Every probe, in order; a problem that makes the next probes pointless ends the examination."""
    first = reach(config, diagnosis)
    if isinstance(first, int):
        return first
    accepted = authenticate(config, first, diagnosis)
    if accepted is None:
        return CREDENTIALS_REFUSED
    accepted, found = routes(accepted, diagnosis)
    users = service_and_users(accepted, diagnosis)
    if capture is not None and users:
        _capture(accepted, users, capture, diagnosis)
    if accepted.allow_changes and users and not diagnosis.problems:
        calibrate(accepted, diagnosis)
    elif accepted.allow_changes:
        diagnosis.add("info", "calibrate", "skipped: the problems above come first (nothing was changed)")
    else:
        unknown = ", ".join(sorted(name for name, verdict in found.items() if verdict == "unknown"))
        diagnosis.add(
            "info",
            "calibrate",
            "skipped (read-only): the presence field, the task State names and the close call stay as configured; "
            "--lucs-allow-changes finds them" + (f" (and tells the routes of {unknown})" if unknown else ""),
        )
    return FAILED if diagnosis.problems else PASSED


def _capture(config: LucsConfig, users: list[dict[str, Any]], path: Path, diagnosis: Diagnosis) -> None:
    """The services and this service's users, as `lucs-mock serve --data` reads them."""
    client = client_for(config)
    try:
        services = client.send("list_services").response_body
    finally:
        client.close()
    path.write_text(json.dumps({"services": services, "users": {config.service_id: users}}, indent=2) + "\n")
    diagnosis.add("ok", "capture", f"{len(services)} services and {len(users)} users saved to {path}")


def main(argv: Sequence[str]) -> int:
    try:
        args = parser().parse_args(list(argv))
        config = configuration(args)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else USAGE
    except ConfigError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return USAGE
    if config.base_url is None:
        print(
            f"{PROG}: no target: give --lucs-base-url (or a profile); the embedded mock needs no doctor",
            file=sys.stderr,
        )
        return USAGE
    diagnosis = Diagnosis()
    try:
        code = examine(config, diagnosis, capture=args.capture)
    except KeyboardInterrupt:
        print(f"{PROG}: stopped; what was changed was undone (or is in the restore journal)", file=sys.stderr)
        return INTERRUPTED
    if args.write_profile and code in (PASSED, FAILED):
        target = Path(args.lucs_config) if args.lucs_config else Path("lucs.toml")
        try:
            written = write_profile(target, args.write_profile, config, diagnosis)
        except ProfileError as error:
            print(f"{PROG}: {error}", file=sys.stderr)
            return USAGE
        diagnosis.add("ok", "profile", f"written: [profiles.{args.write_profile}] in {written}")
    problems = diagnosis.problems
    if problems:
        print(f"doctor: {len(problems)} problem(s); the first: {problems[0].topic}: {problems[0].text}")
    else:
        print(f"doctor: ready: the suite can run against {config.redactor().url(config.base_url)}")
    return code
