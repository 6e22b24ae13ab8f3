"""Cucumber JSON under pytest-xdist: pytest-bdd 9 keeps each report's scenario data in a registry
that never leaves the worker, so the controller writes `[]`. Ship it with the serialised report and
register it again on the controller."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from pytest_bdd.reporting import ReportContext, test_report_context_registry

KEY = "_lucs_pytest_bdd_report_context"


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(
    config: pytest.Config, report: pytest.CollectReport | pytest.TestReport
) -> Generator[None, dict[str, Any] | None, dict[str, Any] | None]:
    data = yield
    try:
        context = test_report_context_registry.get(report)  # type: ignore[arg-type]
    except TypeError:  # a report of another plugin's kind that cannot be a key (pytest's SubtestReport)
        context = None
    if data is not None and context is not None:
        data[KEY] = {"scenario": context.scenario, "name": context.name}
    return data


@pytest.hookimpl(wrapper=True)
def pytest_report_from_serializable(
    config: pytest.Config, data: dict[str, Any]
) -> Generator[None, pytest.CollectReport | pytest.TestReport | None, pytest.CollectReport | pytest.TestReport | None]:
    context = data.pop(KEY, None) if isinstance(data, dict) else None
    report = yield
    if isinstance(report, pytest.TestReport) and context is not None:
        test_report_context_registry[report] = ReportContext(**context)
    return report
