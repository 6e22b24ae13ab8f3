"""A restore timed against a server that will not let it finish: the undo of three blocks."""

from __future__ import annotations

import time

from lucs_harness.client import LucsClient
from lucs_harness.restore import RestoreRegistry, performer


def timed_restore(client: LucsClient, within: float) -> tuple[list[str], float]:
    """Three unblocks (users a, b, c) registered, then restored with a deadline `within` seconds
    away: what was not restored, and the seconds it took."""
    registry = RestoreRegistry(performer(client))
    for user in ("a", "b", "c"):
        registry.register(f"unblock {user}", "unblock_user", {"userId": user})
    started = time.monotonic()
    failed = registry.restore_all(deadline=started + within)
    return failed, time.monotonic() - started
