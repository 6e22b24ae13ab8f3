"""An undefined step as behave reports it: where it is (feature file and line from the project
root), the closest defined steps ("did you mean"), and a step definition to paste. Text only: the
plugin (`lucs_harness.plugin.undefined`) finds the steps and decides what fails."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

SUGGESTIONS = 3
CUTOFF = 0.6  # difflib's own default for close matches
NAME_CHARS = 60  # of a snippet's function name
# a quoted string or a number written in a step: the values a step definition takes as parameters
VALUE = re.compile(r'"(?P<text>[^"]*)"|(?<![\w.])(?P<number>-?\d+(?:\.(?P<decimals>\d+))?)(?![\w.])')
IMPORTS = "from pytest_bdd import given, parsers, then, when; from lucs_harness.world import World"


@dataclass(frozen=True)
class KnownStep:
    """A step definition as QA reads it: its keyword (`*` for any) and its pattern made readable."""

    type: str
    text: str

    @property
    def label(self) -> str:
        return f"{self.type.capitalize() if self.type != '*' else '*'} {self.text}"


@dataclass(frozen=True)
class UndefinedStep:
    """One step of a scenario that no step definition matches, with what helps to fix it."""

    where: str  # features/x.feature:39
    keyword: str  # as written: When, And, ...
    type: str  # given, when or then: what pytest-bdd matches it as (And and But take the one above)
    text: str
    suggestions: tuple[str, ...]
    defined_as: tuple[str, ...]  # the other keywords under which a definition reads exactly so
    snippet: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        """The same step written in several places needs one definition."""
        return self.type, self.text

    def lines(self) -> list[str]:
        """Where, did you mean, and the definition to paste; indented under the step's location."""
        lines = [f"{self.where}: {self.keyword} {self.text}"]
        if self.defined_as:
            kinds = " or ".join(kind.capitalize() for kind in self.defined_as)
            lines.append(
                f"  defined as a {kinds} step: pytest-bdd matches Given, When and Then apart "
                "(And and But take the keyword above them)"
            )
        elif self.suggestions:
            lines += ["  did you mean:", *(f"    {suggestion}" for suggestion in self.suggestions)]
        else:
            lines.append("  no defined step reads like it (`lucs-acceptance steps` lists the shipped ones)")
        lines.append("  a step definition to paste:")
        lines.extend(f"    {line}" for line in self.snippet)
        return lines

    @classmethod
    def of(cls, data: dict[str, object]) -> UndefinedStep:
        """Back from a report (an xdist worker sends its reports as JSON)."""
        values = {name: tuple(value) if isinstance(value, list) else value for name, value in data.items()}
        return cls(**values)  # type: ignore[arg-type]


def closest(text: str, known: Iterable[KnownStep], count: int = SUGGESTIONS) -> tuple[str, ...]:
    """The defined steps that read most like `text` (difflib's ratio, best first)."""
    scored = {step.label: SequenceMatcher(None, text, step.text).ratio() for step in known}
    ranked = sorted(scored, key=lambda label: (-scored[label], label))
    return tuple(label for label in ranked[:count] if scored[label] >= CUTOFF)


def snippet(step_type: str, text: str, *, datatable: bool = False, docstring: bool = False) -> tuple[str, ...]:
    """A step definition for `text`: quoted strings and numbers become parameters of a
    `parsers.parse` pattern, and the function takes the `world` fixture like the shipped steps."""
    pattern, parameters = parameterised(text)
    arguments = ["world: World", *parameters]
    arguments += ["datatable: list[list[str]]"] * datatable + ["docstring: str"] * docstring
    return (
        f"@{step_type}(parsers.parse({_literal(pattern)}))",
        f"def {function_name(VALUE.sub(' ', text))}({', '.join(arguments)}) -> None:",
        "    raise NotImplementedError",
    )


def parameterised(text: str) -> tuple[str, list[str]]:
    """`parse`'s pattern for `text` and the typed parameters it names (text, text2, number, ...)."""
    pattern, parameters, at = "", [], 0
    seen = {"text": 0, "number": 0}
    for value in VALUE.finditer(text):
        pattern += _escaped(text[at : value.start()])
        kind = "text" if value.group("text") is not None else "number"
        seen[kind] += 1
        name = kind if seen[kind] == 1 else f"{kind}{seen[kind]}"
        if kind == "text":
            pattern, typed = pattern + f'"{{{name}}}"', f"{name}: str"
        else:
            decimal = value.group("decimals") is not None
            pattern += f"{{{name}:{'f' if decimal else 'd'}}}"
            typed = f"{name}: {'float' if decimal else 'int'}"
        parameters.append(typed)
        at = value.end()
    return pattern + _escaped(text[at:]), parameters


def function_name(text: str) -> str:
    """A Python name from a step's words, cut at a word within NAME_CHARS."""
    name = ""
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if len(name) + len(word) + 1 > NAME_CHARS:
            break
        name = f"{name}_{word}" if name else word
    return name if name and not name[0].isdigit() else f"step_{name}".rstrip("_")


def _escaped(literal: str) -> str:
    """Braces are `parse`'s fields: written doubled they stand for themselves."""
    return literal.replace("{", "{{").replace("}", "}}")


def _literal(text: str) -> str:
    """A Python string literal, in double quotes unless the text holds them."""
    if '"' not in text:
        return '"' + text.replace("\\", "\\\\") + '"'
    if "'" not in text:
        return "'" + text.replace("\\", "\\\\") + "'"
    return repr(text)


def scenario_failure(where: str, keyword: str, title: str, steps: list[UndefinedStep]) -> str:
    """A scenario that did not start, as the terminal shows a failed one: feature file and line,
    the scenario, then each undefined step (so one run names them all, not the first alone)."""
    count = f"{len(steps)} undefined step{'s' * (len(steps) != 1)}"
    lines = [f"{where}: {keyword}: {title}", f"  not started: {count}; none of its steps ran, nothing was sent"]
    for step in steps:
        lines.extend(f"  {line}" for line in step.lines())
    return "\n".join(lines)
