"""`lucs-mock`: the suite's mock LUCS as a standalone server, for trying requests by hand."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import uvicorn

from lucs_harness.mock.auth import MODES, MockAuth
from lucs_harness.mock.faults import DESCRIPTIONS, UnknownFault, parse_faults
from lucs_harness.mock.seed import DEFAULT_SEED, SeedError
from lucs_harness.mock.server import MockServer


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="lucs-mock", description="A stateful mock of the Luware LUCS API.")
    commands = cli.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the mock until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    serve.add_argument("--port", type=int, default=8080, help="port (0 = any free port)")
    serve.add_argument("--data", type=Path, default=DEFAULT_SEED, help="seed file, JSON or YAML")
    serve.add_argument("--fault", action="append", default=[], metavar="NAME", help="fault mode (repeatable)")
    serve.add_argument("--auth", choices=MODES, default="none", help="credentials the mock demands")
    serve.add_argument("--secret", default="", help="the API key, token, or user:password for basic")
    serve.add_argument("--api-key-header", default="X-API-Key", help="header carrying the API key")
    serve.add_argument(
        "--api-roles", default="GET,POST,DELETE", help="methods the credentials may use (others answer 401)"
    )
    serve.add_argument("--certfile", help="TLS certificate (PEM) to serve https")
    serve.add_argument("--keyfile", help="TLS key (PEM)")
    serve.add_argument("--latency", type=float, default=0.0, help="seconds to delay every LUCS answer")
    serve.add_argument("--quiet", action="store_true", help="no line per request")
    commands.add_parser("faults", help="list the fault modes")
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "faults":
        for fault, text in DESCRIPTIONS.items():
            print(f"{fault.value:26} {text}")
        return 0
    try:
        roles = frozenset(role.strip().upper() for role in args.api_roles.split(",") if role.strip())
        auth = None if args.auth == "none" else MockAuth(args.auth, args.secret, args.api_key_header, roles)
        mock = MockServer(
            host=args.host,
            port=args.port,
            seed=args.data,
            faults=parse_faults(args.fault),
            auth=auth,
            certfile=args.certfile,
            keyfile=args.keyfile,
            latency=args.latency,
        )
    except (SeedError, UnknownFault, ValueError) as error:
        print(f"lucs-mock: {error}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn shuts down, then re-raises the Ctrl-C it caught
        uvicorn.Server(mock.config(log_level="info", access_log=not args.quiet)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
