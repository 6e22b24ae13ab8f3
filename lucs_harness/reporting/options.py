"""The report options of `lucs-acceptance` (a run) and `lucs-acceptance merge` (a sharded run's
shards): where the reports go, the HTML and its history, and the quality gate."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from lucs_harness.exit_codes import QUALITY_GATE_FAILED
from lucs_harness.reporting.quality_gate import KnownIssue, QualityGate, load_known_issues, success_rate

DEFAULT_HISTORY = ".lucs-history/allure-history.jsonl"  # beside, not inside, the reports folder


@dataclass(frozen=True)
class Publishing:
    """How a run's results become its reports."""

    reports: Path = Path("reports")
    html: bool = True
    history: Path | None = None
    gate: QualityGate = field(default_factory=QualityGate)

    def known_issues(self) -> list[KnownIssue]:
        """The known-issues file's entries (checked before anything runs)."""
        return load_known_issues(self.gate.known_issues) if self.gate.known_issues else []


def add_report_options(cli: argparse.ArgumentParser) -> None:
    reports = cli.add_argument_group("reports")
    reports.add_argument("--reports-dir", type=Path, default=Path("reports"), help="where the reports go (./reports)")
    reports.add_argument("--no-html", action="store_true", help="skip the HTML report")
    reports.add_argument(
        "--history",
        type=Path,
        default=Path(DEFAULT_HISTORY),
        metavar="FILE",
        help="the report history kept across runs, for the HTML's trend; outside the reports folder, so a "
        f"clean-up never takes it; cache it in CI (./{DEFAULT_HISTORY})",
    )
    reports.add_argument("--no-history", action="store_true", help="neither read nor add to the history")
    gate = cli.add_argument_group(
        f"quality gate (Allure's, shown in the HTML; it decides the exit code: passed 0, failed {QUALITY_GATE_FAILED})"
    )
    gate.add_argument("--lucs-quality-gate-success-rate", metavar="RATE", help="fewest passed, e.g. 95%% or 0.95")
    gate.add_argument("--lucs-quality-gate-max-failures", metavar="N", type=int, help="most failed scenarios allowed")
    gate.add_argument("--lucs-quality-gate-min-scenarios", metavar="N", type=int, help="fewest scenarios that must run")
    gate.add_argument(
        "--lucs-known-issues",
        metavar="FILE",
        type=Path,
        help="TOML file of known LUCS defects: their failures are marked known and do not fail the gate "
        "(alone: the gate allows no other failure)",
    )


def publishing(args: argparse.Namespace) -> Publishing:
    """The report options given; a gate option that is not usable raises `GateError`."""
    rate = args.lucs_quality_gate_success_rate
    gate = QualityGate(
        success_rate=success_rate(rate) if rate is not None else None,
        max_failures=args.lucs_quality_gate_max_failures,
        min_scenarios=args.lucs_quality_gate_min_scenarios,
        known_issues=args.lucs_known_issues,
    )
    history = None if args.no_history else args.history
    return Publishing(args.reports_dir, html=not args.no_html, history=history, gate=gate)
