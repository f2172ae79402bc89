"""The columns an input offers a mapping, for a platform that holds records, not a file.

`record_columns` reads the field paths of the first records of any iterable of dicts, and
`unknown_source_paths` names the mapped paths none of them has, as `destkit sync` does for a file.
"""

from __future__ import annotations

from destkit.runtime.config.source_paths import unknown_source_paths
from destkit.runtime.engine.sources import record_columns

MAPPING = {"external_reference_id": "id", "first_name": "profile.frist", "custom_properties": {"tier": "attrs.tier"}}


def test_paths_no_record_has_are_named_with_a_did_you_mean() -> None:
    records = [{"id": "c1", "profile": {"first": "Anna"}, "attrs": {"tier": "gold"}}]
    [issue] = unknown_source_paths(MAPPING, record_columns(iter(records), "the records"))
    assert (issue.key, issue.message, issue.fix) == (
        "mapping.first_name", "'profile.frist' is in no record of the records.", "did you mean 'profile.first'?")


def test_only_the_first_records_are_read() -> None:
    records = ({"id": f"c{i}", "profile": {"first": "A"}, "attrs": {"tier": "gold"}} for i in range(1000))
    columns = record_columns(records, "the records", sample=10)
    assert columns.origin == "the first 10 records of the records"
    assert next(records)["id"] == "c10"  # the rest are left for the run


def test_a_hostile_100_kb_field_name_is_shortened_in_the_list_of_fields_to_map() -> None:
    records = [{"id": "c1", "k" * 100_000: 1}]
    [issue] = unknown_source_paths({"external_reference_id": "id", "first_name": "fname"},
                                   record_columns(iter(records), "the records"))
    assert issue.fix == f"map one of: id, {'k' * 117}...."


def test_the_list_of_fields_to_map_names_twenty_and_counts_the_rest() -> None:
    records = [{"id": "c1", **{f"col{i:03d}": i for i in range(30)}}]
    [issue] = unknown_source_paths({"external_reference_id": "id", "first_name": "zzzzzz"},
                                   record_columns(iter(records), "the records"))
    assert issue.fix == f"map one of: {', '.join(f'col{i:03d}' for i in range(20))} (and 11 more)."
