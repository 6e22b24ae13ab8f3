"""Binds the scenario outline of the benchmarks (not part of `make test`): `outline.feature` (40
examples), or the outline `benchmarks.support.write_outline` wrote where `BENCH_OUTLINE_FEATURE` says."""

import os
from pathlib import Path

from pytest_bdd import scenarios

from benchmarks.support import OUTLINE_ENV

scenarios(os.environ.get(OUTLINE_ENV) or "outline.feature", features_base_dir=str(Path(__file__).parent))
