"""A secret reference that names nothing: `{env: ''}`, `{env: 'A=B'}`, `{file: ''}`.

`{env: ''}` said 'environment variable  is not set' with the fix 'export =<value>', and `{file: ''}`
read the config's folder ('secret file . is a directory'); each now says what the reference lacks.
"""

from __future__ import annotations

import pytest

from destkit.runtime.config.secrets import resolve_secret


@pytest.mark.parametrize("name", ["", "  ", "A=B", "A\0B", "MY KEY"])
def test_an_env_reference_that_is_no_variable_name_says_so(name: str) -> None:
    secret, issue = resolve_secret("api_key", {"env": name}, allow_literal=False)
    assert secret is None and issue is not None
    assert issue.message == f"{name!r} is not an environment variable name."
    assert issue.fix == "name the variable, without spaces or '=', e.g. `api_key: {env: API_KEY}`."


@pytest.mark.parametrize("path", ["", "   "])
def test_an_empty_file_reference_says_so(path: str) -> None:
    secret, issue = resolve_secret("api_key", {"file": path}, allow_literal=False)
    assert secret is None and issue is not None
    assert (issue.message, issue.fix) == ("the secret file path is empty.", "give the path of the file that holds the secret.")


@pytest.mark.parametrize("name", ["MY_KEY_2", "my.key-2"])  # Kubernetes allows . and -
def test_a_variable_name_is_read(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "s3cret-value")
    secret, issue = resolve_secret("api_key", {"env": name}, allow_literal=False)
    assert issue is None and secret is not None and secret.reveal() == "s3cret-value"
