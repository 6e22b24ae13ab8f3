"""The `world` API a step of a team's own calls, as `lucs-acceptance steps --world` prints it: read
from `World` with `inspect` (its docstring, its fields, its public methods with their signatures),
so the text cannot drift from the code."""

from __future__ import annotations

import dataclasses
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lucs_harness.world import World

WIDTH = 100
DOC_INDENT = " " * 8
ATTRIBUTE = re.compile(r"^    (\w+): (.*)")  # a name of the docstring's Attributes section, its text after


@dataclass(frozen=True)
class Member:
    """One attribute or method: how it reads in code, and the first paragraph of its documentation."""

    kind: str  # "attribute" or "method"
    name: str
    shown: str  # `name: type` or `name(params) -> type`
    doc: str


class _Annotation:
    """An annotation as written in the source (`str | None`), not quoted, in a signature's text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def intro() -> str:
    """The class docstring before its Attributes section: what every method has in common."""
    return inspect.cleandoc(World.__doc__ or "").split("\nAttributes:", 1)[0].strip()


def attribute_docs() -> dict[str, str]:
    """The Attributes section of the class docstring: each name with its text, lines joined."""
    section = inspect.cleandoc(World.__doc__ or "").partition("\nAttributes:\n")[2]
    docs: dict[str, str] = {}
    name = ""
    for line in section.splitlines():
        match = ATTRIBUTE.match(line)
        if match:
            name, docs[match.group(1)] = match.group(1), match.group(2)
        elif line.strip() and name:
            docs[name] += " " + line.strip()
    return docs


def members() -> list[Member]:
    """The public fields (documented in the class docstring), then the public methods and
    properties in the order of the source."""
    docs = attribute_docs()
    found = [
        Member("attribute", f.name, f"{f.name}: {f.type}", _sentence(docs.get(f.name, "")))
        for f in dataclasses.fields(World)
        if not f.name.startswith("_")
    ]
    for name, value in vars(World).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property) and value.fget is not None:
            found.append(Member("attribute", name, f"{name}: {_returns(value.fget)}", _first_paragraph(value.fget)))
        elif inspect.isfunction(value):
            found.append(Member("method", name, f"{name}{_signature(value)}", _first_paragraph(value)))
    return found


def _signature(function: Callable[..., Any]) -> str:
    """`(params) -> type` without `self`, annotations as written."""
    signature = inspect.signature(function)
    params = [
        p.replace(annotation=_Annotation(p.annotation)) if isinstance(p.annotation, str) else p
        for name, p in signature.parameters.items()
        if name != "self"
    ]
    returns = signature.return_annotation
    shown = signature.replace(
        parameters=params, return_annotation=_Annotation(returns) if isinstance(returns, str) else returns
    )
    return str(shown)


def _returns(function: Callable[..., Any]) -> str:
    returns = inspect.signature(function).return_annotation
    return str(returns) if returns is not inspect.Signature.empty else "Any"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _first_paragraph(function: Callable[..., Any]) -> str:
    return " ".join(inspect.cleandoc(function.__doc__ or "").split("\n\n")[0].split())


def render(chosen: list[Member]) -> str:
    """The API as text: the common rules, then the attributes and the methods, each with its doc."""
    blocks = [f"world (lucs_harness.world.World), the fixture a step takes:\n\n{_indented(intro())}"]
    for kind in ("attribute", "method"):
        lines = [f"{kind}s:"]
        for member in (m for m in chosen if m.kind == kind):
            lines.append(f"  world.{member.shown}")
            if member.doc:
                lines.append(textwrap.fill(member.doc, WIDTH, initial_indent=DOC_INDENT, subsequent_indent=DOC_INDENT))
        if len(lines) > 1:
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def described(grep: str | None = None) -> str:
    """The API as `steps --world` prints it: every member, or those that mention `grep` (any case)."""
    wanted = (grep or "").casefold()
    return render([m for m in members() if wanted in f"{m.shown}\n{m.doc}".casefold()])


def _indented(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())
