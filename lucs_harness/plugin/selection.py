"""Scenario selection as Cucumber users write it, beside `--lucs-tags` and `-k`:
`--lucs-name REGEX` on the scenario's Gherkin title (`--name` through lucs-acceptance), and
`--lucs-line x.feature:LINE` for the scenario around a line (lucs-acceptance takes the argument
`x.feature:LINE` itself, as cucumber does: pytest would look for a file of that name). Names
are OR-ed, lines too; names, lines, tags, `-m` and `-k` are AND-ed. A name or line that selects
nothing ends the run before any scenario (exit 5) with what was asked and the closest scenarios:
a typo must not pass as an empty, green run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from pytest_bdd.exceptions import GherkinParseError

from lucs_harness.errors import SelectionError
from lucs_harness.exit_codes import NOTHING_SELECTED, USAGE
from lucs_harness.feature_lines import FeatureLines, Place
from lucs_harness.plugin.definitions import EXAMPLE, feature_path, template_of
from lucs_harness.plugin.session import RUN_KEY

CLOSEST = 3
SELECTION_KEY = pytest.StashKey["Selection"]()
LIKE, MARGIN = 0.5, 0.2  # how alike a title must be to be named beside the best one, and how near the best


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lucs")
    group.addoption(
        "--lucs-name",
        action="append",
        default=[],
        metavar="REGEX",
        help="run the scenarios whose Gherkin title the regular expression finds, e.g. --lucs-name=Do-Not-Disturb "
        "(repeatable; lucs-acceptance takes --name too)",
    )
    group.addoption(
        "--lucs-line",
        action="append",
        default=[],
        metavar="FILE:LINE",
        help="run the scenario around a line of a feature file (its Scenario line or any line inside), e.g. "
        "--lucs-line=features/control_users.feature:82 (repeatable, FILE:LINE:LINE too; lucs-acceptance takes "
        "features/control_users.feature:82 as an argument)",
    )


@dataclass(frozen=True)
class Line:
    """One `FILE:LINE` asked for, and what it points at in that file."""

    asked: str
    path: Path
    line: int
    place: Place | None


@dataclass
class Selection:
    """What was asked for, and which of it selected some scenario."""

    names: list[re.Pattern[str]]
    lines: list[Line]
    files: dict[Path, FeatureLines]
    named: set[str] = field(default_factory=set)  # the name patterns that selected a scenario
    placed: set[Line] = field(default_factory=set)  # the lines that did

    def keeps(self, item: pytest.Item) -> bool:
        """Whether a test is selected: a scenario whose title, and whose place, were asked for. Each
        name and line that fits the scenario is noted, whatever the others say."""
        template = template_of(item)
        if template is None:
            return False
        callspec = getattr(item, "callspec", None)
        example = callspec.params.get(EXAMPLE, {}) if callspec is not None else {}
        titles = {template.name, template.render(example).name}  # an outline's title may name its values
        named = {pattern.pattern for pattern in self.names if any(pattern.search(title) for title in titles)}
        index = callspec.indices.get(EXAMPLE) if callspec is not None else None
        place = (Path(template.feature.filename).resolve(), template.line_number, index)
        placed = {line for line in self.lines if _at(line, *place)}
        self.named |= named
        self.placed |= placed
        return (bool(named) or not self.names) and (bool(placed) or not self.lines)


def _at(line: Line, path: Path, scenario_line: int, example: int | None) -> bool:
    """Whether a line asked for points at this scenario (and, on an example row, this example)."""
    if line.place is None or line.path != path or line.place.scenario_line != scenario_line:
        return False
    return line.place.example is None or line.place.example == example


@pytest.hookimpl(trylast=True)  # after the harness's own configure set up the run
def pytest_configure(config: pytest.Config) -> None:
    """Names and lines are read before anything is collected: one that cannot be is exit 4."""
    names, lines = config.getoption("--lucs-name"), config.getoption("--lucs-line")
    if not names and not lines:
        return
    try:
        config.stash[SELECTION_KEY] = Selection(compiled(names), *located(lines, config.invocation_params.dir))
    except SelectionError as error:
        config.stash[RUN_KEY].end(USAGE, str(error))
        raise pytest.UsageError(str(error)) from None


@pytest.hookimpl(tryfirst=True)  # before -k, -m and --tags: a name or line is judged against every scenario
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selection = config.stash.get(SELECTION_KEY, None)
    if selection is None:
        return
    keep = [item for item in items if selection.keeps(item)]
    missed = unmatched(selection, config, items)
    if missed:
        config.stash[RUN_KEY].end(NOTHING_SELECTED, "; ".join(missed))
        keep = []
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


def compiled(names: list[str]) -> list[re.Pattern[str]]:
    """The name patterns, Cucumber's way: a regular expression searched in the title."""
    patterns = []
    for name in names:
        try:
            patterns.append(re.compile(name))
        except re.error as error:
            raise SelectionError(f"--lucs-name {name!r}: not a regular expression: {error}") from None
    return patterns


def located(values: list[str], base: Path) -> tuple[list[Line], dict[Path, FeatureLines]]:
    """Each `FILE:LINE[:LINE...]`, its file read once; a file that is not there is a usage error."""
    files: dict[Path, FeatureLines] = {}
    lines = []
    for value in values:
        path_text, numbers = split_lines(value)
        path = (base / path_text).resolve()
        if path not in files:
            files[path] = _read(path, value)
        lines += [Line(f"{path_text}:{number}", path, number, files[path].place(number)) for number in numbers]
    return lines, files


def split_lines(value: str) -> tuple[str, list[int]]:
    """`x.feature:12:30` as the file and its lines."""
    parts = value.split(":")
    numbers: list[int] = []
    while len(parts) > 1 and parts[-1].isdigit():
        numbers.insert(0, int(parts.pop()))
    if not numbers or not parts[0]:
        raise SelectionError(f"--lucs-line {value!r}: expected FILE:LINE, e.g. features/control_users.feature:82")
    return ":".join(parts), numbers


def _read(path: Path, asked: str) -> FeatureLines:
    try:
        return FeatureLines.read(str(path))
    except OSError as error:
        raise SelectionError(f"--lucs-line {asked}: {error.strerror or error}: {path}") from None
    except (GherkinParseError, UnicodeDecodeError) as error:
        raise SelectionError(f"--lucs-line {asked}: not a feature file pytest-bdd reads: {error}") from None


def unmatched(selection: Selection, config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """A line each for the names and lines that selected nothing, with the closest scenarios."""
    titles = sorted({template.name for item in items if (template := template_of(item)) is not None})
    missed = []
    for pattern in selection.names:
        if pattern.pattern not in selection.named:
            near = ", ".join(f'"{title}"' for title in closest_titles(pattern.pattern, titles))
            missed.append(f"no scenario title matches --lucs-name {pattern.pattern!r}; closest: {near or 'none'}")
    for line in selection.lines:
        if line not in selection.placed:
            missed.append(line_missed(line, selection.files[line.path], feature_path(config, str(line.path))))
    return missed


def line_missed(line: Line, lines: FeatureLines, shown: str) -> str:
    """Why a line selected nothing, with the scenarios nearest to it."""
    near = ", ".join(f'line {s.location.line} "{s.name}"' for s in lines.nearest(line.line, CLOSEST))
    if line.place is None:
        return f"{line.asked} is in no scenario; nearest: {near or f'none, {shown} holds no scenario'}"
    at = line.place.scenario_line
    return f"{line.asked}: the scenario at line {at} was not collected (does a scenarios() call bind {shown}?)"


def closest_titles(query: str, titles: list[str], count: int = CLOSEST) -> list[str]:
    """The titles most like `query`: the best one whatever its likeness, others near as alike, by
    the best of the whole title and its stretches of as many words."""
    scores = {title: _likeness(query.lower(), title.lower()) for title in titles}
    ranked = sorted(titles, key=lambda title: (-scores[title], title))[:count]
    floor = max(LIKE, scores[ranked[0]] - MARGIN) if ranked else LIKE
    return ranked[:1] + [title for title in ranked[1:] if scores[title] >= floor]


def _likeness(query: str, title: str) -> float:
    """Words are compared, not punctuation: `do not disturb` is `Do-Not-Disturb`."""
    query, words = " ".join(re.findall(r"\w+", query)), re.findall(r"\w+", title)
    size = max(1, len(query.split()))
    stretches = [" ".join(words[at : at + size]) for at in range(max(1, len(words) - size + 1))]
    return max(SequenceMatcher(None, query, text).ratio() for text in [title, *stretches])
