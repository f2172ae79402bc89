"""`import destkit.spark` without pyspark says which extra to install."""

from __future__ import annotations

import subprocess
import sys

BLOCK_PYSPARK = "import sys; sys.modules['pyspark'] = None\n"  # what an environment without pyspark sees


def test_importing_destkit_spark_without_pyspark_names_the_extra_to_install() -> None:
    code = BLOCK_PYSPARK + ("try:\n    import destkit.spark\nexcept Exception as exc:\n"
                            "    print(type(exc).__name__, '|', exc, '|', exc.issues[0].fix)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)

    assert proc.stdout.strip() == ("UsageError | destkit.spark needs pyspark and pyarrow (pyspark is not installed). | "
                                   "pip install 'destkit[spark]'")
