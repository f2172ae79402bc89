"""Klaviyo's emulator (bulk profile import jobs, list membership), its testing and demo profiles.
Imports starlette, orjson, destkit.destinations._kit and the runtime's emulator contract only."""
