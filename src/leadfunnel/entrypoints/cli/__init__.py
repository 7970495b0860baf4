"""The ``leadfunnel`` command line (typer + rich)."""
