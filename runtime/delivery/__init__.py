"""Sending records: batching, auth, the Deliverer, bounded exchanges (exchange.py), answer classification
(classify.py), result reading, retries, idempotency, catalogs and the typed extension points.
Imports base modules, spec, record and config; never engine."""
