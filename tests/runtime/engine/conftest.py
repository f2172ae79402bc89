"""The mirror tests' fixtures (`mirror_kit`): `audience`, an empty membership emulator's audience, and `url`,
that emulator served on loopback. A module with fixtures of these names of its own uses its own."""

from __future__ import annotations

from mirror_kit import audience, url  # noqa: F401 (fixtures, found by pytest by their names here)
