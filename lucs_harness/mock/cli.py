"""`lucs-mock`: the suite's mock LUCS as a standalone server, for trying requests by hand."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import TypeVar

from lucs_harness.key_placement import DEFAULT_KEY_PLACEMENT, KeyPlacement
from lucs_harness.mock.app import MAX_BODY
from lucs_harness.mock.auth import MODES, MockAuth
from lucs_harness.mock.conventions import (
    NAMES,
    Conventions,
    UnknownConvention,
    key_place,
    read_conventions,
    read_settings,
)
from lucs_harness.mock.faults import DESCRIPTIONS, UnknownFault, parse_faults
from lucs_harness.mock.limits import (
    IDLE_TIMEOUT,
    MAX_CONNECTIONS,
    MAX_HEADER_SIZE,
    MAX_HEADERS,
    MAX_REQUEST_LINE,
    REQUEST_TIMEOUT,
    Limits,
)
from lucs_harness.mock.seed import DEFAULT_SEED, SeedError
from lucs_harness.mock.server import MockServer, StartError

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # what a shell reports for a tool a closed pipe stopped

Server = TypeVar("Server", bound=MockServer)


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="lucs-mock", description="A stateful mock of the Luware LUCS API.")
    commands = cli.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the mock until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    serve.add_argument("--port", type=int, default=8080, help="port (0 = any free port)")
    serve.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_SEED,
        help="seed file, or a capture of a real LUCS's services and users (JSON or YAML)",
    )
    serve.add_argument("--fault", action="append", default=[], metavar="NAME", help="fault mode (repeatable)")
    serve.add_argument("--auth", choices=MODES, default="none", help="credentials the mock demands")
    serve.add_argument("--secret", default="", help="the API key, token, or user:password for basic")
    serve.add_argument(
        "--api-key-header",
        help="header carrying the API key (default X-API-Key; short for --convention api-key=NAME)",
    )
    serve.add_argument(
        "--convention",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"serve an undocumented fact another way (repeatable; names: {', '.join(NAMES)})",
    )
    serve.add_argument("--conventions", type=Path, metavar="FILE", help="conventions as a TOML or JSON object")
    serve.add_argument(
        "--api-roles", default="GET,POST,DELETE", help="methods the credentials may use (others answer 401)"
    )
    serve.add_argument("--certfile", help="TLS certificate (PEM) to serve https")
    serve.add_argument("--keyfile", help="TLS key (PEM)")
    serve.add_argument("--latency", type=float, default=0.0, help="seconds to delay every LUCS answer")
    serve.add_argument(
        "--max-body", type=int, default=MAX_BODY, metavar="BYTES", help=f"largest request body (default {MAX_BODY})"
    )
    serve.add_argument("--quiet", action="store_true", help="no line per request")
    _limits(serve.add_argument_group("what one client may take (a refusal is LUCS's error envelope, then close)"))
    commands.add_parser("faults", help="list the fault modes")
    return cli


def _limits(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--max-request-line",
        type=int,
        default=MAX_REQUEST_LINE,
        metavar="BYTES",
        help=f"longest request line: method, path and query, version; longer is a 414 (default {MAX_REQUEST_LINE})",
    )
    group.add_argument(
        "--max-header-size",
        type=int,
        default=MAX_HEADER_SIZE,
        metavar="BYTES",
        help=f"largest header fields together (`Name: value` CRLF each); larger is a 431 (default {MAX_HEADER_SIZE})",
    )
    group.add_argument(
        "--max-headers",
        type=int,
        default=MAX_HEADERS,
        metavar="N",
        help=f"most header fields in a request; more is a 431 (default {MAX_HEADERS})",
    )
    group.add_argument(
        "--idle-timeout",
        type=float,
        default=IDLE_TIMEOUT,
        metavar="SECONDS",
        help="close a connection that sends no request for this long, before its first one too "
        f"(default {IDLE_TIMEOUT:g})",
    )
    group.add_argument(
        "--request-timeout",
        type=float,
        default=REQUEST_TIMEOUT,
        metavar="SECONDS",
        help="a request must arrive whole, headers and body, within this from its first byte, "
        f"or it is a 408 and closed (slowloris; default {REQUEST_TIMEOUT:g})",
    )
    group.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help=f"connections served at once; one more is answered 503 and closed (default {MAX_CONNECTIONS}, "
        "or fewer if the descriptor limit, ulimit -n, leaves room for fewer; more than it leaves room for is refused)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run one command. Output cut short by a closed pipe (`lucs-mock faults | head -1`) ends quietly,
    as the Python documentation recommends for SIGPIPE: stdout goes to devnull so the exit flush is silent."""
    try:
        try:
            return _run(parser().parse_args(argv))
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _run(args: argparse.Namespace) -> int:
    if args.command == "faults":
        for fault, text in DESCRIPTIONS.items():
            print(f"{fault.value:26} {text}")
        return 0
    return _serve(args)


def server_from(args: argparse.Namespace, kind: type[Server]) -> Server:
    """The mock `lucs-mock serve ARGS` serves (not started), as a `kind` (MockServer or a subclass)."""
    roles = frozenset(role.strip().upper() for role in args.api_roles.split(",") if role.strip())
    conventions, place = _conventions(args)
    return kind(
        host=args.host,
        port=args.port,
        seed=args.data,
        faults=parse_faults(args.fault),
        auth=MockAuth(args.auth, args.secret, place, roles=roles),
        certfile=args.certfile,
        keyfile=args.keyfile,
        latency=args.latency,
        max_body=args.max_body,
        conventions=conventions,
        limits=Limits(
            max_request_line=args.max_request_line,
            max_header_size=args.max_header_size,
            max_headers=args.max_headers,
            idle_timeout=args.idle_timeout,
            request_timeout=args.request_timeout,
            max_connections=args.max_connections,
        ),
    )


def _serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; a setting the mock cannot serve with is one line on stderr and exit 2."""
    try:
        mock = server_from(args, MockServer)
        server, sock = mock.server(log_level="info", access_log=not args.quiet)
    except (SeedError, UnknownFault, ValueError, StartError) as error:
        print(f"lucs-mock: {error}", file=sys.stderr)
        return EXIT_USAGE
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn shuts down, then re-raises the Ctrl-C it caught
        server.run(sockets=[sock])
    return 0


def _conventions(args: argparse.Namespace) -> tuple[Conventions, KeyPlacement]:
    """`--conventions FILE` with every `--convention` over it, and the API key's place: the convention
    `api-key` or its short form `--api-key-header NAME`, given once (the auth keeps it)."""
    settings = read_settings(args.conventions) if args.conventions else {}
    conventions, place = read_conventions(args.convention, settings)
    if args.api_key_header is None:
        return conventions, place or DEFAULT_KEY_PLACEMENT
    if place is not None:
        raise UnknownConvention("give the API key's place once: --api-key-header or the convention api-key")
    return conventions, key_place(args.api_key_header)


if __name__ == "__main__":
    sys.exit(main())
