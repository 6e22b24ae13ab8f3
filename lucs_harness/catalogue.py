"""The step catalogue: every step pattern of the shipped library with its docstring, grouped by
subject (the step module), read from what pytest-bdd registered, so it cannot drift from the code."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from itertools import groupby

from pytest_bdd.steps import step_function_context_registry

from lucs_harness.plugin import STEP_MODULES, STEPS_PACKAGE


@dataclass(frozen=True)
class StepEntry:
    """One step pattern: its keyword, its text, and the docstring of the function behind it."""

    subject: str
    keyword: str
    pattern: str
    doc: str


def catalogue() -> list[StepEntry]:
    """Every shipped step, in the order of its module and definition."""
    modules = [importlib.import_module(f"{STEPS_PACKAGE}.{name}") for name in STEP_MODULES]
    entries = []
    for context in step_function_context_registry.values():
        module = context.step_func.__module__
        if module not in {m.__name__ for m in modules}:
            continue
        doc = (context.step_func.__doc__ or "").strip().split("\n\n")[0]
        subject = module.rsplit(".", 1)[-1]
        entries.append(StepEntry(subject, context.type or "*", context.parser.name, " ".join(doc.split())))
    order = {name: index for index, name in enumerate(STEP_MODULES)}
    return sorted(entries, key=lambda e: order[e.subject])


def readable(pattern: str) -> str:
    """A step pattern as QA reads it: `the target user` for the user phrase (which also reads
    `the user "…"`), `<name>` for a value, `[…]` for an optional part, `<a|b>` for a choice."""
    text = pattern.replace(importlib.import_module(STEPS_PACKAGE).USER, "the target user")
    text = re.sub(r"\(\?P<(\w+)>(\w+(?:\|\w+)+)\)", r"<\2>", text)
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text)
    text = re.sub(r"\(\?:([^()]*)\)\?", r"[\1]", text)
    text = re.sub(r"\{(\w+)(?::\w+)?\}", r"<\1>", text)
    return text.replace("\\", "")


def render(entries: list[StepEntry]) -> str:
    """The catalogue as text: a heading per subject, a line per pattern, its docstring below."""
    blocks = []
    for subject, group in groupby(entries, key=lambda entry: entry.subject):
        lines = [f"{subject}:"]
        for entry in group:
            lines.append(f"  {entry.keyword.capitalize():5} {readable(entry.pattern)}")
            if entry.doc:
                lines.append(f"        {entry.doc}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
