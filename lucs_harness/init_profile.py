"""`lucs-acceptance init --lucs-base-url URL`: the profile of that LUCS in the new project's lucs.toml.
The doctor examines it (read-only unless `--lucs-allow-changes` is passed on) and writes what it
found, as `doctor --write-profile` does. When it cannot (the LUCS unreachable, the credentials
refused), the profile holds the base URL, what was given, and the fields left to fill in, so the
project still runs against the mock and the next doctor run completes the profile."""

from __future__ import annotations

import json
from pathlib import Path

from lucs_harness.config import LucsConfig, choices_of, help_of
from lucs_harness.doctor.profile import GIVEN
from lucs_harness.errors import ConfigError
from lucs_harness.exit_codes import MEANING, PASSED

FILL_IN = ("service_id", "user", "auth")  # what a profile of a real LUCS cannot do without
WRITTEN = (*GIVEN, "auth")  # what is written when given (secrets never: they stay in the environment)


def profile_for(toml: Path, name: str, doctor_args: list[str]) -> tuple[str, bool]:
    """Run the doctor for profile `name` in `toml`: one line saying what the file holds now, and
    whether the doctor wrote the profile (a run can take it as it is)."""
    from lucs_harness.doctor import configuration, parser
    from lucs_harness.doctor import main as doctor

    argv = [*doctor_args, f"--lucs-config={toml}", f"--write-profile={name}"]
    print(f"\nThe doctor, for [profiles.{name}]:", flush=True)
    code = doctor(argv)
    if has_profile(toml, name):
        verdict = "found it ready" if code == PASSED else f"found problems (exit {code}: its lines above)"
        return f"[profiles.{name}] written by the doctor, which {verdict}; runs take it: --lucs-profile {name}", True
    try:
        config = configuration(parser().parse_args(argv))
    except (SystemExit, ConfigError):
        return f"no profile: the doctor could not start (exit {code}, said above); lucs.toml is the template", False
    with toml.open("a", encoding="utf-8") as out:
        out.write("\n" + fallback(name, config, code))
    return (
        f"[profiles.{name}] holds the base URL, what was given and the fields to fill in: the doctor could not "
        f"examine the LUCS (exit {code}: {MEANING.get(code, 'see above')}); once it can, "
        f"`lucs-acceptance doctor --lucs-profile {name} --write-profile {name}` completes the profile"
    ), False


def has_profile(toml: Path, name: str) -> bool:
    return any(line.strip() == f"[profiles.{name}]" for line in toml.read_text(encoding="utf-8").splitlines())


def fallback(name: str, config: LucsConfig, code: int) -> str:
    """The profile without the doctor: the base URL and the other values given, then the fields a
    real LUCS needs that were not, commented out with their meaning."""
    target = config.redactor().url(config.base_url or "")
    lines = [
        f"[profiles.{name}]",
        f"# written by `lucs-acceptance init`: the doctor could not examine {target} (exit {code})",
        f"# fill in what is missing, then: lucs-acceptance doctor --lucs-profile {name} --write-profile {name}",
        f"base_url = {json.dumps(target)}",
    ]
    for field in WRITTEN:
        if field != "base_url" and field in config.given:
            lines.append(f"{field} = {json.dumps(getattr(config, field))}  # given")  # JSON: valid TOML here
        elif field in FILL_IN:
            lines.append(f'# {field} = ""  # fill in: {meaning(field)}')
    return "\n".join(lines) + "\n"


def meaning(field: str) -> str:
    """A field's description, with its choices where it has a fixed set."""
    choices = choices_of(field)
    return f"{help_of(field)} ({', '.join(choices)})" if choices else help_of(field)
