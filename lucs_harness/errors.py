"""Every exception of the harness, in one place (the mock's are its own, in `lucs_harness.mock`).

    AssertionError
    ├── LucsError                   a call to LUCS did not go as documented: the step fails
    │   ├── TransportError          no HTTP answer
    │   │   ├── Unreachable         no connection at all (counts toward exit 10)
    │   │   └── ExchangeTimeout     the exchange outlived its deadline
    │   ├── UnexpectedStatus        a status the step did not expect
    │   │   └── CredentialsRefused  401: the run stops (exit 11)
    │   ├── NotJson                 a body that is not the JSON it should be
    │   │   └── JsonTooDeep
    │   ├── ResponseTooLarge        past `max_response_mb`
    │   ├── RedirectRefused         a 3xx the client does not follow
    │   ├── SchemaViolation         a body that breaks its JSON Schema
    │   └── StateNotReached         a state LUCS did not reach by the wait deadline
    ├── ExpectationFailed           what a step found is not what it expects (a field, a count, a state)
    └── JournalUnwritable           a change not sent: its undo could not be journaled
    ValueError
    ├── ConfigError                 a configuration that cannot be used (exit 4)
    │   └── ShardError              --lucs-shard, --lucs-durations
    ├── SelectionError              --lucs-name, --lucs-line, FILE:LINE
    ├── Rejected                    a journal entry a later run must not replay
    ├── MergeError, GateError, ProfileError
    RuntimeError
    ├── CoordinationError           the coordination store (exit 4 or 10)
    ├── PoolExhausted               no agent of the pool free (exit 13)
    ├── JournalKeyError
    ├── AllureError                 Node.js or Allure missing or failing
    │   └── CacheUnwritable
    ├── ReportError, ReportsFolderError
    Exception: UndefinedSteps, Unreadable
    BaseException: RunInterrupted   a stop request inside a scenario

Each failure a person reads is one line (or a few) that says what and why; the classes say which
exit code and which reports category it belongs to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lucs_harness.undefined import UndefinedStep


class LucsError(AssertionError):
    """Base of every failure the client reports."""


class TransportError(LucsError):
    """No HTTP answer: refused, timed out, TLS failure."""


class Unreachable(TransportError):
    """No connection at all: refused, unresolvable host, connect timeout, TLS handshake failure."""


class ExchangeTimeout(TransportError):
    """The exchange did not end by its deadline (`exchange_timeout`, or a `within` block's, such as
    the restore's), however its bytes came: the message says which deadline and how many had arrived."""


class UnexpectedStatus(LucsError):
    """An HTTP status the step did not expect."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CredentialsRefused(UnexpectedStatus):
    """401: the configured credentials were refused; no later call can succeed."""


class NotJson(LucsError):
    """A body that should be JSON but is not."""


class JsonTooDeep(NotJson):
    """JSON nested deeper than `MAX_JSON_DEPTH`: refused before anything walks it recursively."""


class ResponseTooLarge(LucsError):
    """A body larger than `max_response_mb`: the rest is not read and its connection is dropped."""


class RedirectRefused(LucsError):
    """A 3xx answer not followed: another origin, a downgrade to http, a method it would change,
    too many hops, or redirects not allowed at all. Nothing was sent to its Location."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SchemaViolation(LucsError):
    """A body broke the contract; the message names each JSON path and the reason."""


class StateNotReached(LucsError):
    """The deadline passed; the message holds what was expected, the last value seen and the time."""


class ExpectationFailed(AssertionError):
    """What a step found is not what it expects: the message names what was expected and what was
    found. The one assertion failure the world and the steps raise (a call to LUCS that went wrong
    is a `LucsError`), so a real `assert` in the harness's own code is never mistaken for one."""


class JournalUnwritable(AssertionError):
    """The undo of a change could not be written to the restore journal (a full disk, a file-size
    limit), so the change is not sent: the step fails with this one line. An AssertionError, so
    the step's failure reads like any other step's."""


class ConfigError(ValueError):
    """A configuration that cannot be used; the message says which source and field."""


class ShardError(ConfigError):
    """A shard option or agent pool that cannot work; the message is one line."""


class SelectionError(ValueError):
    """A name or line that cannot be read: a usage error (exit 4)."""


class UndefinedSteps(Exception):
    """A scenario uses steps that no definition matches: it stops before its first step."""

    def __init__(self, message: str, steps: list[UndefinedStep]) -> None:
        super().__init__(message)
        self.steps = steps


class CoordinationError(RuntimeError):
    """The coordination store cannot be used: `code` is the run's exit code (4 or 10)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class PoolExhausted(RuntimeError):
    """Every agent of the pool stayed leased by live runs for the whole lease wait."""


class Rejected(ValueError):
    """An entry this run must not replay: no run holding the target's key wrote it, or it is no undo
    of the operations table. The message says what is wrong, printable on one line."""


class Unreadable(Exception):
    """A journal file that is not read at all: not a regular file, or too large."""


class JournalKeyError(RuntimeError):
    """No key can be had: the key file cannot be made or is not one; the message says what to do."""


class AllureError(RuntimeError):
    """Allure could not be run, or said no."""


class CacheUnwritable(AllureError):
    """The user's cache folder, where `install-allure` puts Allure, takes no files (exit 4)."""


class ReportError(RuntimeError):
    """The HTML report could not be generated or is not self-contained."""


class ReportsFolderError(RuntimeError):
    """The reports folder holds a file of the same name that an earlier run did not write."""


class MergeError(ValueError):
    """An input or output folder that cannot be merged; the message is one line."""


class GateError(ValueError):
    """A gate option or the known-issues file is not usable; the message says which and why."""


class ProfileError(ValueError):
    """The profile could not be written; one line says why."""


class RunInterrupted(BaseException):
    """Raised inside a scenario when the run is told to stop. A BaseException, so no `except
    Exception` swallows it, and not a KeyboardInterrupt, so pytest reports it as the scenario's
    outcome and runs its teardown (the restore) in order."""
