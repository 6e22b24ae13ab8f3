"""The restore journal's key: what a run must hold to write an entry a later run replays.

It is derived from every secret the run holds for the target (`journal_key`, the credentials),
stretched (PBKDF2, so the MACs in a shared cache are no quick test of a guessed password), then
bound to the target (base URL and service). A target with no secret at all uses a per-user key
file, made on first use, readable by its owner alone: a journal written on another machine without
a shared secret then cannot be verified and is rejected, which is why a fleet sets
`LUCS_JOURNAL_KEY` (or uses credentials).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from lucs_harness.errors import JournalKeyError
from lucs_harness.journal import Seal, target_digest

if TYPE_CHECKING:
    from lucs_harness.config import LucsConfig

SECRETS = ("journal_key", "username", "password", "token", "api_key")  # what the key is derived from
ROUNDS = 200_000  # PBKDF2-HMAC-SHA256 rounds: about 0.07 s, once per process
KEY_FILE = re.compile(r"[0-9a-f]{64}")
_ADVICE = "set LUCS_JOURNAL_KEY (journal_key) instead"


def journal_seal(config: LucsConfig) -> Seal:
    """The seal of the configured real target's journal entries."""
    assert config.base_url is not None
    return Seal(target_key(config), target_digest(config.base_url, config.service_id))


def target_key(config: LucsConfig) -> bytes:
    """The target's journal key: the run's secrets (else the key file's), stretched, bound to the target."""
    material = tuple((name, value) for name in SECRETS if (value := config.credential(name)))
    master = _stretched(material or (("key file", key_file_secret()),))
    return hmac.new(master, f"{config.base_url}|{config.service_id}".encode(), hashlib.sha256).digest()


@functools.lru_cache(maxsize=8)
def _stretched(material: tuple[tuple[str, str], ...]) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", json.dumps(material).encode(), b"lucs-harness journal key", ROUNDS)


def key_file() -> Path:
    """The per-user key file, in the user's configuration folder: never in the journal's folder,
    which a CI cache may carry to others."""
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "lucs-harness" / "journal.key"


def key_file_secret(path: Path | None = None) -> str:
    """The key file's secret, the file made first when there is none."""
    path = path or key_file()
    try:
        return _read_key(path)
    except FileNotFoundError:
        _create_key(path)
    return _read_key(path)


def _read_key(path: Path) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise JournalKeyError(f"journal key file {path}: {error.strerror}; {_ADVICE}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise JournalKeyError(f"journal key file {path}: must be a file of yours only you can read (chmod 600)")
        text = file.read(128).decode("ascii", "replace").strip()
    if not KEY_FILE.fullmatch(text):
        raise JournalKeyError(f"journal key file {path}: holds no key (64 hex digits); {_ADVICE}")
    return text


def _create_key(path: Path) -> None:
    """Write a new key beside, then link it in place: atomic, and never over one another process made first."""
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(scratch, path)
    except FileExistsError:
        pass
    except OSError as error:
        raise JournalKeyError(f"cannot make the journal key file {path}: {error.strerror}; {_ADVICE}") from None
    finally:
        scratch.unlink(missing_ok=True)
