"""Which scenario a line of a feature file belongs to, as Cucumber reads `x.feature:LINE`: the
Scenario line or any line inside the scenario (its tags, steps, tables, examples); a row of an
outline's examples is that one example. Lines of the feature's header, a Background or a Rule
heading belong to no scenario."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from pytest_bdd.gherkin_parser import Child, Scenario, Tag, get_gherkin_document


@dataclass(frozen=True)
class Place:
    """A line's scenario (by its Scenario line) and, on an example row, that example's index among
    all of the outline's examples (as pytest-bdd parametrizes them)."""

    scenario_line: int
    example: int | None = None


@dataclass
class FeatureLines:
    """The start of each part of one feature file (a scenario with its tags, a Background, a Rule)."""

    last_line: int
    starts: list[int] = field(default_factory=list)
    scenarios: list[Scenario | None] = field(default_factory=list)  # None: not a scenario

    @classmethod
    def read(cls, filename: str) -> FeatureLines:
        document = get_gherkin_document(filename)
        with open(filename, encoding="utf-8") as file:
            lines = cls(last_line=sum(1 for _ in file))
        lines._add(document.feature.children)
        return lines

    def _add(self, children: list[Child]) -> None:
        for child in children:
            if child.scenario is not None:
                self._part(_first(child.scenario.location.line, child.scenario.tags), child.scenario)
            elif child.background is not None:
                self._part(child.background.location.line, None)
            elif child.rule is not None:
                self._part(_first(child.rule.location.line, child.rule.tags), None)
                self._add(child.rule.children)

    def _part(self, start: int, scenario: Scenario | None) -> None:
        at = bisect_right(self.starts, start)
        self.starts.insert(at, start)
        self.scenarios.insert(at, scenario)

    def place(self, line: int) -> Place | None:
        """The scenario (and example) at `line`, if the line is inside one."""
        at = bisect_right(self.starts, line) - 1
        if at < 0 or line > self.last_line or self.scenarios[at] is None:
            return None
        scenario = self.scenarios[at]
        assert scenario is not None
        return Place(scenario.location.line, example_at(scenario, line))

    def nearest(self, line: int, count: int) -> list[Scenario]:
        """The file's scenarios whose Scenario lines are nearest to `line`, in the file's order."""
        scenarios = [scenario for scenario in self.scenarios if scenario is not None]
        near = sorted(scenarios, key=lambda scenario: (abs(scenario.location.line - line), scenario.location.line))
        return sorted(near[:count], key=lambda scenario: scenario.location.line)


def example_at(scenario: Scenario, line: int) -> int | None:
    """The index of the example written on `line` among the outline's examples, counted as
    pytest-bdd counts them (tables without a header give none)."""
    index = 0
    for table in scenario.examples:
        if table.table_header is None:
            continue
        for row in table.table_body or []:
            if row.location.line == line:
                return index
            index += 1
    return None


def _first(line: int, tags: list[Tag]) -> int:
    """A part starts at its first tag line, above its keyword."""
    return min([line, *(tag.location.line for tag in tags)])
