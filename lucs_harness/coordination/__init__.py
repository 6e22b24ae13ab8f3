"""How runs against one LUCS stay out of each other's way: agent leases, the restore journal, and
which runs are alive. Two stores behind one interface (`base.Coordination`): files on this
machine (the default) and PostgreSQL (`--lucs-coordination URL`) for runners on several machines.
"""

from __future__ import annotations

from lucs_harness.config import LucsConfig
from lucs_harness.coordination.base import RUN_TOKEN, Coordination, Lease, Leftover, RunJournal, lease_agent
from lucs_harness.errors import CoordinationError, PoolExhausted

__all__ = [
    "RUN_TOKEN",
    "Coordination",
    "CoordinationError",
    "Lease",
    "Leftover",
    "PoolExhausted",
    "RunJournal",
    "lease_agent",
    "open_store",
]


def open_store(config: LucsConfig) -> Coordination:
    """The configured store of a real target: PostgreSQL when `coordination` names one, else files.
    `CoordinationError` (with its exit code) when it cannot be used."""
    if config.coordination:
        from lucs_harness.coordination.postgres import PostgresCoordination  # psycopg only where it is used

        return PostgresCoordination(config)
    from lucs_harness.coordination.files import FileCoordination

    return FileCoordination(config)
