"""Catalogs: the values that must already exist in the destination (tags, property names).

Read once per sync, before any record, from the destination's list endpoints (a JMESPath picks
the allowed values out of the answer) or taken from the sync config when the user gives them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import httpx
import jmespath
import orjson

from destkit.runtime.delivery.exchange import DEFAULT_LIMITS, NoReply, ResponseLimits, exchange
from destkit.runtime.errors import AuthFailed, ConfigError, Issue
from destkit.runtime.record.checks import Catalog
from destkit.runtime.spec.models import CatalogSpec


def catalog_from_config(name: str, spec: CatalogSpec | None, given: list[str] | dict[str, str]) -> Catalog:
    """A list of values, or a mapping of value → display label."""
    if isinstance(given, dict):
        labels = {str(label).lower(): str(value) for value, label in given.items()}
        return Catalog(name, frozenset(map(str, given)), labels, spec, source="config")
    return Catalog(name, frozenset(map(str, given)), {}, spec, source="config")


async def fetch_catalog(client: httpx.AsyncClient, name: str, spec: CatalogSpec, auth_statuses: Collection[int],
                        limits: ResponseLimits = DEFAULT_LIMITS) -> Catalog:
    """The catalog as the destination lists it; any answer that cannot be used is a ConfigError (AuthFailed for 401/403).

    The request is bounded like every other (`exchange`): a catalog too large, too slow or too deeply
    nested to read stops the sync before the first record, with the way out in the fix.
    """
    where = f"{spec.request.method} {spec.request.path}"
    fix = f"check the base URL and credentials, or list the values under `catalogs: {{{name}: [...]}}` in the sync config."

    def unusable(message: str) -> ConfigError:
        return ConfigError([Issue(f"catalogs.{name}", message, fix)], title="cannot check the config against the destination")

    reply = await exchange(client, spec.request.method, spec.request.path, limits, params=spec.request.query or None)
    if isinstance(reply, NoReply):
        raise unusable(f"could not read the {name} catalog ({where}): {reply.error or reply.message}.")
    if reply.status in auth_statuses:
        raise AuthFailed(reply.status, f"reading the {name} catalog ({where}) was refused; check the API key.")
    if reply.status // 100 != 2:
        raise unusable(f"reading the {name} catalog ({where}) answered HTTP {reply.status}.")
    try:
        data = orjson.loads(reply.content)  # orjson: a body nested over 1,024 levels is an error, not a RecursionError
    except orjson.JSONDecodeError:
        raise unusable(f"the {name} catalog ({where}) did not answer JSON.") from None
    values = jmespath.search(spec.items, data)
    if not isinstance(values, list):
        raise unusable(f"the {name} catalog answer has no list at '{spec.items}'.")
    return Catalog(name, frozenset(str(v) for v in values if v is not None), _labels(spec, data), spec)


def _labels(spec: CatalogSpec, data: Any) -> dict[str, str]:
    """Display label (lower-cased) → value, from the [label, value] pairs at `spec.labels`."""
    labels: dict[str, str] = {}
    if spec.labels:
        for pair in jmespath.search(spec.labels, data) or []:
            if isinstance(pair, list) and len(pair) == 2 and pair[0] and pair[1]:
                labels[str(pair[0]).lower()] = str(pair[1])
    return labels


def check_constants(catalogs: Mapping[str, Catalog], fields: Mapping[str, Any], constants: Mapping[str, Any],
                    object_keys: Mapping[str, tuple[str, ...]]) -> list[Issue]:
    """Constant tags and key-by-key custom-property keys must exist before a record is read."""
    issues: list[Issue] = []
    for name, f in fields.items():
        catalog_name = f.catalog or (f.items.catalog if f.items else None)
        if catalog_name and name in constants:
            value = constants[name]
            items = value if isinstance(value, list) else [value]
            catalog = catalogs[catalog_name]
            for item in items:
                if str(item) not in catalog.values:
                    issues.append(Issue(f"mapping.{name}.const", catalog.unknown_message(item, name, with_hint=False),
                                        (catalog.spec.hint + " Or remove it from the mapping.") if catalog.spec and catalog.spec.hint
                                        else f"create the {catalog.noun} '{item}' in the destination first, or remove it from the mapping."))
        if f.keys_catalog and name in object_keys:
            catalog = catalogs[f.keys_catalog]
            for key in object_keys[name]:
                if key not in catalog.values:
                    suggestion = catalog.suggest(key)
                    fix = f"rename the key to '{suggestion}'." if suggestion else (
                        catalog.spec.hint if catalog.spec and catalog.spec.hint else "use a key from the catalog.")
                    issues.append(Issue(f"mapping.{name}.{key}", f"'{key}' is not a technical name in the destination's {catalog.name} catalog.", fix))
    return issues
