"""The step catalogue: every step pattern with its docstring, read from what pytest-bdd registered,
so it cannot drift from the code: the shipped library's, grouped by subject (the step module), and
a project's own, grouped by file with their `file:line`. `lucs-acceptance steps` prints both
(`main`), or with `--world` the API a step of the project's own calls."""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

from lucs_harness.exit_codes import FAILED, PASSED, USAGE
from lucs_harness.plugin import STEP_MODULES, STEPS_PACKAGE

PROG = "lucs-acceptance steps"


@dataclass(frozen=True)
class StepEntry:
    """One step pattern: its keyword, its text, the docstring of the function behind it, and for a
    project's own step where that function is (`file`, relative to the project where it is inside)."""

    subject: str
    keyword: str
    pattern: str
    doc: str
    file: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else ""


def entry(context: StepFunctionContext, subject: str, file: str = "", line: int = 0) -> StepEntry:
    """A registered step as a catalogue entry; its doc is the first paragraph of the docstring."""
    doc = (context.step_func.__doc__ or "").strip().split("\n\n")[0]
    return StepEntry(subject, context.type or "*", context.parser.name, " ".join(doc.split()), file, line)


def shipped_modules() -> set[str]:
    """The step library's modules, imported (which registers their steps)."""
    return {importlib.import_module(f"{STEPS_PACKAGE}.{name}").__name__ for name in STEP_MODULES}


def catalogue() -> list[StepEntry]:
    """Every shipped step, in the order of its module and definition."""
    modules = shipped_modules()
    entries = []
    for context in step_function_context_registry.values():
        module = context.step_func.__module__
        if module in modules:
            entries.append(entry(context, module.rsplit(".", 1)[-1]))
    order = {name: index for index, name in enumerate(STEP_MODULES)}
    return sorted(entries, key=lambda e: order[e.subject])


def project_entries(contexts: Iterable[StepFunctionContext], root: Path) -> list[StepEntry]:
    """The steps among `contexts` that the library did not ship, by file and line: a file inside
    `root` (the project's) named relative to it, another (an installed plugin's, also in a
    virtualenv inside `root`) by its full path under the name of its module.
    The line is the first decorator's, where the pattern is written."""
    shipped = shipped_modules()
    installed = {Path(sysconfig.get_path(name)).resolve() for name in ("purelib", "platlib")}  # a .venv inside
    entries = []
    for context in contexts:
        function = context.step_func
        if function.__module__ in shipped:
            continue
        path = Path(inspect.getsourcefile(function) or function.__code__.co_filename).resolve()
        inside = path.is_relative_to(root) and not any(path.is_relative_to(folder) for folder in installed)
        file = str(path.relative_to(root)) if inside else str(path)
        entries.append(entry(context, file if inside else function.__module__, file, function.__code__.co_firstlineno))
    return sorted(entries, key=lambda e: (e.file, e.line))


def readable(pattern: str) -> str:
    """A step pattern as QA reads it: `the target user` for the user phrase (which also reads
    `the user "…"`), `<name>` for a value, `<a|b>` for a choice, `[…]` for an optional part."""
    text = pattern.replace(importlib.import_module(STEPS_PACKAGE).USER, "the target user")
    text = _groups(text)
    text = re.sub(r"(\w)\?", r"[\1]", text)  # "seconds?" -> "second[s]"
    text = re.sub(r"\{(\w+)(?::\w+)?\}", r"<\1>", text)  # parse-style fields
    return text.replace("\\", "")


def _groups(text: str) -> str:
    """Named groups as `<name>` (or `<a|b>` for a choice of words, the words themselves for a
    fixed wording), other groups as `[…]` when optional; nested groups are taken whole."""
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
            literal = re.fullmatch(r"[\w ]+", named.group(2))  # a fixed wording, named for the step to read
            shown = named.group(2) if literal else f"<{named.group(2) if words else named.group(1)}>"
        else:
            shown = _groups(inner.removeprefix("?:"))
        out += f"[{shown}]" if optional else shown
        i = j + (2 if optional else 1)
    return out


def render(entries: list[StepEntry]) -> str:
    """The catalogue as text: a heading per subject, a line per pattern (with its `file:line` for a
    project's own step), its docstring below."""
    blocks = []
    for subject, group in groupby(entries, key=lambda entry: entry.subject):
        lines = [f"{subject}:"]
        for step in group:
            where = f"  ({step.where})" if step.where else ""
            lines.append(f"  {step.keyword.capitalize():5} {readable(step.pattern)}{where}")
            if step.doc:
                lines.append(f"        {step.doc}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def matching(entries: list[StepEntry], text: str | None) -> list[StepEntry]:
    """The entries whose pattern (as written or as read), docstring or place holds `text`, in any case."""
    if not text:
        return entries
    wanted = text.casefold()
    return [e for e in entries if wanted in f"{e.pattern}\n{readable(e.pattern)}\n{e.doc}\n{e.where}".casefold()]


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog=PROG,
        description="The steps a feature file can use: the harness's, then this project's own (those its "
        "conftest.py, the step modules it names in pytest_plugins and its test modules register, found by "
        "collecting the project in this folder as a run does; nothing is run). <name> is a value, [...] an "
        "optional part, <a|b> a choice, * any keyword.",
    )
    cli.add_argument("--grep", metavar="TEXT", help="only the steps (or with --world, the members) that mention TEXT")
    cli.add_argument(
        "--world",
        action="store_true",
        help="instead: the world API a step of your own calls (attributes, methods: what each sends and asserts)",
    )
    return cli


def main(argv: Sequence[str]) -> int:
    """`lucs-acceptance steps`: exit 0, or 1 when the project could not be collected (its steps
    are then missing from the list; pytest's error is shown), 4 on a usage error."""
    try:
        args = parser().parse_args(list(argv))
    except SystemExit as done:
        return PASSED if done.code == 0 else USAGE
    if args.world:
        from lucs_harness.world_api import described

        sys.stdout.write(described(args.grep))
        return PASSED
    from lucs_harness.own_steps import collect  # pytest's collection: only when asked

    root = Path.cwd().resolve()
    found = collect()
    others = matching(project_entries(found.contexts, root), args.grep)
    own = [e for e in others if not Path(e.file).is_absolute()]  # inside the project, not installed
    others = [e for e in others if e not in own]
    shipped = matching(catalogue(), args.grep)
    out = sys.stdout
    out.write("The harness's steps:\n\n")
    out.write(render(shipped) if shipped else "  none match\n")
    if others:
        out.write("\nSteps of other installed plugins:\n\n" + render(others))
    out.write(f"\nThis project's steps ({root}):\n\n")
    if found.problem:
        out.write("  not listed: the project could not be collected (the error is on stderr)\n")
        print(f"{PROG}: {found.problem}", file=sys.stderr)
        return FAILED
    if own:
        out.write(render(own))
    else:
        how = "none match" if args.grep else "none yet: a step of your own goes into conftest.py (see --world)"
        out.write(f"  {how}\n")
    return PASSED
