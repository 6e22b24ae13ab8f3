"""A configuration value as its field takes it: text (from the environment or the command line)
or a TOML value converted to the field's type, checked against its bounds; credentials kept as
`Secret`. `config.LucsConfig` declares its fields with `setting` and converts through here; each
converter raises ValueError saying what the value must be."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

TRUE = ("true", "1", "yes", "on", "t", "y")
FALSE = ("false", "0", "no", "off", "f", "n")


class Secret:
    """A credential: its text only through `reveal()`, never in a repr, a message or a report."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def setting(
    default: Any = None,
    *,
    help: str,
    factory: Callable[[], Any] | None = None,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> Any:
    """A field of `LucsConfig`: its default (or `factory`), its help text, its bounds."""
    metadata = {"help": help, "gt": gt, "ge": ge, "le": le}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value


def _secret(value: Any) -> Secret:
    return value if isinstance(value, Secret) else Secret(text(value))


def _finite(value: Any) -> float | None:
    """`value` (a number, or text that reads as one) as a finite float, else None; a bool is no number."""
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and not isinstance(value, bool) else None


def _number(value: Any) -> float:
    number = _finite(value)
    if number is None:
        raise ValueError(f"must be a number, not {value!r}")
    return number


def _whole(value: Any) -> int:
    number = _finite(value)
    if number is None or not number.is_integer():
        raise ValueError(f"must be a whole number, not {value!r}")
    return int(number)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE or word in FALSE:
        return word in TRUE
    raise ValueError(f"must be true or false, not {value!r}")


def _items(value: Any) -> list[str]:
    """A list, or comma-separated text (the environment's and the command line's form)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError("must be a list of text")
    return [item.strip() for item in items if item.strip()]


def _table(value: Any) -> dict[str, str]:
    """A table, or `key=value` pairs separated by commas (the environment's and the command line's form)."""
    if isinstance(value, str):
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError(f"expected key=value pairs separated by commas, got {value!r}")
        return {key.strip(): val.strip() for key, val in pairs}
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise ValueError("must be a table of text values")
    return dict(value)


CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    str: text, Secret: _secret, float: _number, int: _whole, bool: _flag, list: _items, dict: _table,
}  # fmt: skip


def check_bounds(bounds: Mapping[str, Any], value: Any) -> None:
    """ValueError unless `value` is within the `gt`, `ge` and `le` of a `setting`'s metadata."""
    if bounds["gt"] is not None and not value > bounds["gt"]:
        raise ValueError(f"must be greater than {bounds['gt']}")
    if bounds["ge"] is not None and not value >= bounds["ge"]:
        raise ValueError(f"must be at least {bounds['ge']}")
    if bounds["le"] is not None and not value <= bounds["le"]:
        raise ValueError(f"must be at most {bounds['le']}")
