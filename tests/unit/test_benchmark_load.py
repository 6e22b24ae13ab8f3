"""The mock benchmarks' load (`benchmarks/load.py`) counts whole answers and stops at the first
one that is not a 200: a figure it prints is a rate of answers the server really gave."""

from __future__ import annotations

import pytest

from benchmarks.load import LoadError, calls_per_second, request
from lucs_harness.config import SEED_SERVICE
from tests.unit.conftest import MockTarget

USERS = f"/v1.0/services/{SEED_SERVICE}/users"


def test_every_connection_cycles_its_requests_and_answers_are_counted(mock_target: MockTarget) -> None:
    base = mock_target.base_url
    cycles = [[request("GET", base + USERS), request("GET", base + "/v1.0/services")]] * 3
    assert calls_per_second(base, cycles, 0.3) > 10


def test_an_answer_other_than_200_ends_the_load_with_its_status_line(mock_target: MockTarget) -> None:
    base = mock_target.base_url
    with pytest.raises(LoadError, match=r"answered 'HTTP/1.1 404 Not Found' under load"):
        calls_per_second(base, [[request("GET", base + "/v1.0/no-such-thing")]], 0.3)


def test_a_post_without_a_body_says_its_length() -> None:
    assert b"Content-Length: 0\r\n\r\n" in request("POST", "http://h:1/v1.0/users/u/block")
    assert b"Content-Length" not in request("GET", "http://h:1/v1.0/services")
