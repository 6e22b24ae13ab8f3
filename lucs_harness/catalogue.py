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
    `the user "…"`), `<name>` for a value, `<a|b>` for a choice, `[…]` for an optional part."""
    text = pattern.replace(importlib.import_module(STEPS_PACKAGE).USER, "the target user")
    text = _groups(text)
    text = re.sub(r"(\w)\?", r"[\1]", text)  # "seconds?" -> "second[s]"
    text = re.sub(r"\{(\w+)(?::\w+)?\}", r"<\1>", text)  # parse-style fields
    return text.replace("\\", "")


def _groups(text: str) -> str:
    """Named groups as `<name>` (or `<a|b>` for a choice of words), other groups as `[…]` when
    optional; nested groups are taken whole."""
    out, i = "", 0
    while i < len(text):
        if text[i] != "(":
            out, i = out + text[i], i + 1
            continue
        depth, j = 0, i
        while True:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            if depth == 0:
                break
            j += 1
        inner, optional = text[i + 1 : j], text[j + 1 : j + 2] == "?"
        named = re.match(r"\?P<(\w+)>(.*)", inner, re.S)
        if named:
            words = re.fullmatch(r"\w+(?:\|\w+)+", named.group(2))
            shown = f"<{named.group(2) if words else named.group(1)}>"
        else:
            shown = _groups(inner.removeprefix("?:"))
        out += f"[{shown}]" if optional else shown
        i = j + (2 if optional else 1)
    return out


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
