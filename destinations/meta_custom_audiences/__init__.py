"""Meta Custom Audiences: the emulator of POST/DELETE /{audience_id}/users and its testing and demo profiles.

Imports starlette, orjson, destkit.destinations._kit and destkit.runtime (never another destination).
"""
