"""The connector author's kit: `destkit spec check` (check.py and the checks it runs) and `destkit init` (scaffold.py).
May import the base modules (errors, outcomes), spec, record, config, delivery and engine; only cli imports it."""
