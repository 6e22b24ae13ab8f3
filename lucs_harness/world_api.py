"""The `world` API a step of a team's own calls, as `lucs-acceptance steps --world` prints it: read
from `World` and its facets (`world.users`, `world.tasks`, ...) with `inspect` (their docstrings,
attributes, public methods with their signatures), so the text cannot drift from the code."""

from __future__ import annotations

import dataclasses
import inspect
import re
import textwrap
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lucs_harness.world import World

WIDTH = 100
DOC_INDENT = " " * 8
ATTRIBUTE = re.compile(r"^    (\w+): (.*)")  # a name of the docstring's Attributes section, its text after


@dataclass(frozen=True)
class Member:
    """One attribute or method: whose it is, how it reads in code, and the first paragraph of its
    documentation."""

    owner: str  # "world", or a facet: "world.users"
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


def parts() -> list[tuple[str, type]]:
    """The world and its facets (the attributes `World` annotates), as a step reaches each."""
    facets = typing.get_type_hints(World)
    return [("world", World), *((f"world.{name}", facet) for name, facet in facets.items())]


def intro(cls: type = World) -> str:
    """A class docstring before its Attributes section: for `World`, what every call has in common."""
    return inspect.cleandoc(cls.__doc__ or "").split("\nAttributes:", 1)[0].strip()


def attribute_docs(cls: type = World) -> dict[str, str]:
    """The Attributes section of a class docstring: each name with its text, lines joined."""
    section = inspect.cleandoc(cls.__doc__ or "").partition("\nAttributes:\n")[2]
    docs: dict[str, str] = {}
    name = ""
    for line in section.splitlines():
        match = ATTRIBUTE.match(line)
        if match:
            name, docs[match.group(1)] = match.group(1), match.group(2)
        elif line.strip() and name:
            docs[name] += " " + line.strip()
    return docs


def members(cls: type | None = None, owner: str = "world") -> list[Member]:
    """The public members of `cls` (every part of the world when None): its attributes (the fields
    and annotated facets its docstring's Attributes section documents, then other properties), then
    its methods in the order of the source."""
    if cls is None:
        return [member for name, part in parts() for member in members(part, name)]
    docs = attribute_docs(cls)
    if dataclasses.is_dataclass(cls):
        declared = [(f.name, str(f.type)) for f in dataclasses.fields(cls)]
    else:
        declared = [(name, str(value)) for name, value in inspect.get_annotations(cls).items()]
    found = [
        Member(owner, "attribute", name, f"{name}: {shown}", _sentence(docs.get(name, "")))
        for name, shown in declared
        if not name.startswith("_")
    ]
    methods = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property) and value.fget is not None:
            doc = _first_paragraph(value.fget) or _sentence(docs.get(name, ""))
            found.append(Member(owner, "attribute", name, f"{name}: {_returns(value.fget)}", doc))
        elif inspect.isfunction(value):
            methods.append(Member(owner, "method", name, f"{name}{_signature(value)}", _first_paragraph(value)))
    order = list(docs)
    found.sort(key=lambda m: order.index(m.name) if m.name in order else len(order))
    return found + methods


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
    """The API as text: the common rules, then the world's attributes and methods, then each facet
    (what it holds and does, its attributes and methods), each member with its doc."""
    blocks = []
    for owner, cls in parts():
        mine = [m for m in chosen if m.owner == owner]
        if owner == "world":
            blocks.append(f"world ({cls.__module__}.{cls.__name__}), the fixture a step takes:\n\n{_indented(intro())}")
        elif mine:
            blocks.append(f"{owner} ({cls.__module__}.{cls.__name__}):\n\n{_indented(intro(cls))}")
        for kind in ("attribute", "method"):
            lines = [f"{kind}s:" if owner == "world" else f"{owner} {kind}s:"]
            for member in (m for m in mine if m.kind == kind):
                lines.append(f"  {owner}.{member.shown}")
                if member.doc:
                    lines.append(
                        textwrap.fill(member.doc, WIDTH, initial_indent=DOC_INDENT, subsequent_indent=DOC_INDENT)
                    )
            if len(lines) > 1:
                blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def described(grep: str | None = None) -> str:
    """The API as `steps --world` prints it: every member, or those that mention `grep` (any case)."""
    wanted = (grep or "").casefold()
    return render([m for m in members() if wanted in f"{m.owner}.{m.shown}\n{m.doc}".casefold()])


def _indented(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())
