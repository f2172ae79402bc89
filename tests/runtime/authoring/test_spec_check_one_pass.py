"""`destkit spec check` lists every error of a spec in one run, not one per run.

The loader stops at the first stage that fails (schema, then semantics, then the author's checks);
spec check goes on past it on a repaired copy, so a schema error does not hide a template typo, an
undeclared catalog does not hide a bad base URL, and a semantic error does not hide a JMESPath
one. A value pydantic tried against each member of a union is one error with a did-you-mean. Code
outside the spec's packages is still never imported.
"""

from __future__ import annotations

from importlib import resources

from destkit.runtime.authoring.check import check_spec_text

HELLO = resources.files("destkit.specs").joinpath("hello_charles.yaml").read_text(encoding="utf-8")
FIRST_NAME = "first_name: {type: string, title: First Name, maxLength: 255}"
BASE_URL = 'base_url: "https://{{ settings.subdomain }}.hello-charles.com"'
TAGS_ITEMS = "items: \"data[?object=='person' && !deleted].label\""


def errors_of(text: str) -> list[tuple[str, str]]:
    return [(f.issue.key, f.issue.fix) for f in check_spec_text(text, "hc.yaml").errors]


def keys_of(text: str) -> list[str]:
    return [key for key, _ in errors_of(text)]


def test_the_bundled_spec_has_no_errors() -> None:
    assert errors_of(HELLO) == []


def test_a_schema_error_and_a_template_typo_are_both_listed() -> None:
    text = HELLO.replace(FIRST_NAME, FIRST_NAME.replace("type: string", "type: strin")).replace(
        BASE_URL, BASE_URL.replace("subdomain", "subdomian"))
    assert keys_of(text) == ["actions.send_contacts.fields.first_name.type", "base_url"]


def test_a_misspelt_enum_value_is_one_error_with_a_did_you_mean() -> None:
    text = HELLO.replace(FIRST_NAME, FIRST_NAME.replace("type: string", "type: strin"))
    assert errors_of(text) == [("actions.send_contacts.fields.first_name.type", "did you mean 'string'?")]


def test_two_unknown_keys_and_a_semantic_error_are_listed_together() -> None:
    text = (HELLO.replace("rate_limit: {concurrency: 4}", "rate_limit: {concurency: 4}")
            .replace("timeouts: {connect: 10, read: 60}", "timeouts: {conect: 10, read: 60}")
            .replace(BASE_URL, BASE_URL.replace("subdomain", "subdomian")))
    assert keys_of(text) == ["rate_limit.concurency", "timeouts.conect", "base_url"]


def test_an_undeclared_catalog_does_not_hide_a_bad_base_url() -> None:
    text = HELLO.replace("catalog: tags\n", "catalog: tagz\n", 1).replace(BASE_URL, BASE_URL.replace("subdomain", "subdomian"))
    assert keys_of(text) == ["actions.send_contacts.fields.tags.catalog", "base_url"]


def test_a_semantic_error_does_not_hide_the_authors_checks() -> None:
    text = (HELLO.replace("body: {contacts: $records}", "body: {contacts: $recordz}", 1)
            .replace(TAGS_ITEMS, TAGS_ITEMS.replace("].label", ".label")))
    keys = keys_of(text)
    assert keys[0] == "actions.send_contacts.request.body"
    assert keys[-1] == "catalogs.tags.items"


def test_an_error_is_listed_once() -> None:
    text = HELLO.replace(BASE_URL, BASE_URL.replace("subdomain", "subdomian"))
    assert keys_of(text) == ["base_url"]


def test_a_yaml_error_in_a_spec_is_shown_on_its_line_with_a_caret() -> None:
    text = HELLO.replace("rate_limit: {concurrency: 4}", "rate_limit: {concurrency: 4")
    [finding] = check_spec_text(text, "hc.yaml").findings
    line = text.splitlines().index("rate_limit: {concurrency: 4") + 1
    assert (finding.issue.key, finding.issue.line) == ("(yaml)", line)
    assert finding.issue.fix == ("fix the YAML syntax on this line:\n"
                                 f"    {line} | rate_limit: {{concurrency: 4\n"
                                 f"    {' ' * len(str(line))} |             ^")
