"""Applications: the CLI, settings, batch and streaming drivers, profile, verify, purge, report."""
