"""Where the benchmarks find the shared W1 workload, and how they import it from a file path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKLOAD = REPO.parent / "shared" / "bench" / "workload.py"


def load_workload(path: str | Path) -> ModuleType:
    """Import workload.py from a file path (it is not a package of this repository)."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"workload not found at {path}; pass --workload /path/to/workload.py")
    spec = importlib.util.spec_from_file_location("destkit_bench_workload", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
