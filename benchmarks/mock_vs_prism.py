"""Benchmark: the mock LUCS against Prism serving the same OpenAPI document, under the same load.

Both run as separate processes on loopback: the mock as `lucs-mock serve --quiet`, Prism as
`prism mock` of the document the mock serves at `/openapi.json` (without `servers`, which would
tie Prism to the mock's port). Both are warmed up (Prism's JIT needs it), then driven in
alternating rounds with the same load on `GET /v1.0/services/{serviceId}/users`, so both see the
same machine; the figure of each is the median of its rounds. The load is `wrk` when installed
(Debian: `apt-get install wrk`), else `benchmarks.load`: keep-alive sockets on a selector, cheap
enough per request that the server, not the load, sets the rate.

Prints from one run: requests/s of each, the response sizes (Prism answers the documented
example, the mock its live user list), and the ratio mock/Prism (target >= 1, goal 3).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import requests

from benchmarks.load import LoadError, calls_per_second, request
from lucs_harness.config import SEED_SERVICE
from lucs_harness.operations import DEFAULT_PATHS
from tests.realtarget.support import free_port

ROOT = Path(__file__).resolve().parent.parent
PRISM = ROOT / "node_modules" / ".bin" / "prism"
PATH = DEFAULT_PATHS["list_users"].format(serviceId=SEED_SERVICE)
START_TIMEOUT = 30.0
Load = Callable[[str, float], float]


class BenchmarkError(RuntimeError):
    """The benchmark cannot run or measured something broken; the message says what to do."""


@contextmanager
def serving(name: str, command: list[str], url: str, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start `command`, wait until `url` answers 200, stop it (by its own pid) on the way out."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            _wait_until_up(name, process, url, errors)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(name: str, process: subprocess.Popen[bytes], url: str, errors: IO[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            errors.seek(0)
            raise BenchmarkError(f"{name} exited with {process.returncode}:\n{errors.read().decode(errors='replace')}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise BenchmarkError(f"{name} did not answer {url} within {START_TIMEOUT:.0f} s")
        time.sleep(0.1)


def wrk_load(wrk: str, connections: int) -> Load:
    """`wrk` with one thread (the servers are single-threaded too); refuses non-2xx answers."""

    def run(url: str, seconds: float) -> float:
        command = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", url]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if bad:
            raise BenchmarkError(f"{url} answered {bad.group(1)} non-2xx responses under load")
        rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if rate is None:
            raise BenchmarkError(f"cannot read wrk's output:\n{out}")
        return float(rate.group(1))

    return run


def socket_load(connections: int) -> Load:
    """`connections` keep-alive connections, each sending the same GET (`benchmarks.load`)."""

    def run(url: str, seconds: float) -> float:
        try:
            return calls_per_second(url, [[request("GET", url)]] * connections, seconds)
        except LoadError as error:
            raise BenchmarkError(f"{url} {error}") from None

    return run


def measure(load: Load, urls: dict[str, str], seconds: float, rounds: int, warmup: float) -> dict[str, list[float]]:
    """Warm every target up, then alternate them round by round."""
    for url in urls.values():
        load(url, warmup)
    rates: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            rates[name].append(load(url, seconds))
    return rates


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    cli.add_argument("--prism", type=Path, default=PRISM, help=f"the Prism CLI (default: {PRISM})")
    cli.add_argument("--seconds", type=float, default=4.0, help="length of one measured round")
    cli.add_argument("--rounds", type=int, default=3, help="measured rounds per server (median reported)")
    cli.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured load per server first")
    cli.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    cli.add_argument("--load", choices=["auto", "wrk", "python"], default="auto", help="load generator")
    cli.add_argument("--prism-log-level", default="error", help="Prism's -v; 'info' (its default) logs every request")
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.prism.exists():
        print(
            f"mock_vs_prism: Prism is not installed at {args.prism}.\n"
            "It is pinned in package.json (@stoplight/prism-cli); run `npm ci` in the repository root "
            "(or `make install`), or pass --prism PATH.",
            file=sys.stderr,
        )
        return 2
    wrk = shutil.which("wrk")
    if args.load == "wrk" and wrk is None:
        print("mock_vs_prism: --load wrk, but wrk is not on PATH (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    use_wrk = wrk is not None and args.load != "python"
    load = wrk_load(wrk, args.connections) if use_wrk and wrk else socket_load(args.connections)

    mock_port, prism_port = free_port(), free_port()
    mock_base, prism_base = f"http://127.0.0.1:{mock_port}", f"http://127.0.0.1:{prism_port}"
    mock_command = [sys.executable, "-m", "lucs_harness.mock.cli", "serve", "--port", str(mock_port), "--quiet"]
    try:
        with serving("lucs-mock", mock_command, f"{mock_base}/openapi.json", ROOT) as _mock:
            document = requests.get(f"{mock_base}/openapi.json", timeout=5).json()
            document.pop("servers", None)
            with tempfile.TemporaryDirectory() as scratch:
                spec = Path(scratch) / "lucs-openapi.json"
                spec.write_text(json.dumps(document))
                prism_command = [str(args.prism), "mock", str(spec), "-h", "127.0.0.1", "-p", str(prism_port)]
                prism_command += ["-v", args.prism_log_level]
                with serving("prism", prism_command, prism_base + PATH, ROOT) as _prism:
                    urls = {"mock": mock_base + PATH, "prism": prism_base + PATH}
                    sizes = {name: len(requests.get(url, timeout=5).content) for name, url in urls.items()}
                    rates = measure(load, urls, args.seconds, args.rounds, args.warmup)
    except (BenchmarkError, subprocess.CalledProcessError) as error:
        print(f"mock_vs_prism: {error}", file=sys.stderr)
        return 1

    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"GET {DEFAULT_PATHS['list_users']} on loopback, {args.connections} connections, load: ", end="")
    print(f"{'wrk' if use_wrk else 'python sockets'}, {args.rounds} x {args.seconds:g} s per server (median)")
    for name in ("mock", "prism"):
        rounds = ", ".join(f"{rate:.0f}" for rate in rates[name])
        print(f"  {name:5}  {median[name]:8.0f} req/s   ({sizes[name]} B per answer; rounds: {rounds})")
    print(f"ratio mock/prism: {median['mock'] / median['prism']:.2f}  (target >= 1, goal 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
