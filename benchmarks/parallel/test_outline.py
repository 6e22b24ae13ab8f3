"""Binds the 40-example outline used by `benchmarks/parallel_speedup.py` (not part of `make test`)."""

from pathlib import Path

from pytest_bdd import scenarios

scenarios("outline.feature", features_base_dir=str(Path(__file__).parent))
