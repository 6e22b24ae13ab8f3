"""The services facet of a scenario's world: the services LUCS lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lucs_harness.errors import ExpectationFailed
from lucs_harness.world.core import Core


@dataclass(repr=False)
class Services:
    """The services LUCS knows, as the scenario listed them.

    Attributes:
        listed: the services as last listed by `list_all` (None: not listed yet).
    """

    _core: Core
    listed: list[dict[str, Any]] | None = None

    def as_listed(self) -> list[dict[str, Any]]:
        """The services as last listed (`listed`); fails when they were not. Sends nothing."""
        if self.listed is None:
            raise ExpectationFailed("no service list was fetched in this scenario")
        return self.listed

    def list_all(self) -> list[dict[str, Any]]:
        """GET the services (`list_services`, 200, service-list schema); kept as `listed`."""
        self.listed = self._core.send("list_services").response_body
        return self.listed
