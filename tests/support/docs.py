"""The documentation as the tests read it: its pages (Markdown in `docs/`), its nav (`mkdocs.yml`)
and its MkDocs hook (`docs/hooks.py`, which generates the step reference and the world API)."""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

import yaml

from tests.support.suite import ROOT

DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"


def page(name: str) -> str:
    """A page's Markdown as written (before the hook fills its markers), by its path under `docs/`."""
    return (DOCS / name).read_text()


def hooks() -> ModuleType:
    """`docs/hooks.py`, loaded as MkDocs loads it: from its file (docs/ is no package)."""
    spec = importlib.util.spec_from_file_location("lucs_docs_hooks", DOCS / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nav_pages() -> list[str]:
    """Every page the nav of `mkdocs.yml` names, in order."""
    config = yaml.safe_load(MKDOCS_YML.read_text())

    def walk(entries: Any) -> list[str]:
        found: list[str] = []
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            found += walk(value) if isinstance(value, list) else [value]
        return found

    return walk(config["nav"])
