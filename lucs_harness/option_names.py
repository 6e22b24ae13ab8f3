"""How the configuration's fields are named outside the file: command-line options and environment
variables, and which fields are bare flags. Kept apart from `config` because the wrapper reads
these names before it starts a run (the run's pytest reads the configuration), and its start-up
is paid by every run; `tests/unit/test_cli.py` checks the names against the model."""

from __future__ import annotations

ENV_PREFIX = "LUCS_"

# the fields that are bare flags on the command line (a bool of false default: `--lucs-allow-changes`)
FLAG_FIELDS = ("strict_schema", "allow_changes", "dry_run")

# the harness's command-line options that are not fields: option, metavar, help
OTHER_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--lucs-config", "FILE", "config file (default: lucs.toml, else [tool.lucs] in pyproject.toml)"),
    ("--lucs-profile", "NAME", "named profile of the config file, e.g. staging"),
    (
        "--lucs-mock-fault",
        "NAME",
        "embedded mock only: break one documented behaviour (repeatable; `lucs-mock faults` lists them)",
    ),
    (
        "--lucs-mock-data",
        "FILE",
        "embedded mock only: serve this seed or capture (`doctor --capture FILE`), so it mirrors your LUCS",
    ),
)


def cli_option(name: str) -> str:
    """The command-line option of field `name`."""
    return "--lucs-" + name.replace("_", "-")


def env_name(name: str) -> str:
    """The environment variable of field `name`."""
    return ENV_PREFIX + name.upper()
