"""Sending records: batching, auth, the Deliverer, answer classification (classify.py), result reading,
retries, catalogs and the typed extension points. Imports base modules, spec, record and config; never engine."""
