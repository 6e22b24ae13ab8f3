"""MkDocs hook: the step reference and the `world` API, generated from the code at build time.

A page holds a marker where the generated text goes: `<!-- lucs:steps -->` (the step catalogue that
`lucs-acceptance steps` prints, a section per subject) and `<!-- lucs:world -->` (the `world` API
that `lucs-acceptance steps --world` prints). Both are read from what the code registers, through
the functions those commands use (`lucs_harness.catalogue`, `lucs_harness.world_api`), so the pages
cannot drift from the code; `mkdocs.yml` names this file under `hooks:`. The text is laid out as
Markdown (a list item per step or member, its doc below) rather than a block of the terminal's
text, so that it wraps on a narrow page and the search finds each entry.
"""

from __future__ import annotations

import re
from itertools import groupby

from lucs_harness.catalogue import catalogue, readable
from lucs_harness.world_api import intro, members

STEPS = "<!-- lucs:steps -->"
WORLD = "<!-- lucs:world -->"
CODE_SPAN = re.compile(r"(`[^`]*`)")


def prose(text: str) -> str:
    """A docstring's text as Markdown: code spans kept, `<`, `>` and `*` outside them escaped."""
    parts = CODE_SPAN.split(text)
    return "".join(
        part if part.startswith("`") else part.replace("<", "&lt;").replace(">", "&gt;").replace("*", r"\*")
        for part in parts
    )


def item(code: str, doc: str) -> str:
    """One entry: its code on the first line of a list item, its doc (if any) below it."""
    return f"- `{code}`" + (f"<br>\n  {prose(doc)}" if doc else "")


def steps_markdown() -> str:
    """The shipped steps: a section per subject (the step module), a list item per step pattern,
    as `lucs-acceptance steps` writes it (`<name>` a value, `[…]` optional, `<a|b>` a choice)."""
    sections = []
    for subject, group in groupby(catalogue(), key=lambda entry: entry.subject):
        lines = [item(f"{step.keyword.capitalize()} {readable(step.pattern)}", step.doc) for step in group]
        sections.append(f"## {subject}\n\n" + "\n".join(lines) + "\n")
    return "\n".join(sections)


def world_markdown() -> str:
    """The `world` API: the rules every call follows, then the attributes and the methods."""
    blocks = [prose(intro())]
    for kind, title in (("attribute", "Attributes"), ("method", "Methods")):
        lines = [item(f"world.{member.shown}", member.doc) for member in members() if member.kind == kind]
        blocks.append(f"## {title}\n\n" + "\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def on_page_markdown(markdown: str, **_: object) -> str:
    """Replace each marker on the page with the text generated from the code."""
    if STEPS in markdown:
        markdown = markdown.replace(STEPS, steps_markdown())
    if WORLD in markdown:
        markdown = markdown.replace(WORLD, world_markdown())
    return markdown
