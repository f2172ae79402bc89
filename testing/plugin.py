"""destkit's pytest plugin (placeholder until the QA kit lands)."""
