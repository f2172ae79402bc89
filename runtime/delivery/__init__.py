"""Sending records: batching, auth, the Deliverer, bounded exchanges (exchange.py), answer classification
(classify.py), result reading, retries, idempotency, catalogs, the typed extension points and the
transport that pins a user's URL to checked addresses (pinning.py), with its connection lanes (lanes.py)
and cookie jar (cookies.py); answers are read with the collector paused (collector.py).
Imports base modules, spec, record and config; never engine."""
