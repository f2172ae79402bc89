"""The per-record path: checks compiled from an action's field schema (`checks.py`, `finite.py`,
`object_values.py`), the record body template (`body.py`), the compiler that fuses them with the mapping
into one generated function (`compiler.py`) and the batch loop generated from the same statements (`loop.py`). Imports
destkit.mapping, the base modules and spec; nothing above."""
