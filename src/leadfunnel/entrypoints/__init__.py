"""Entry points: CLI, REST API and web UI. Each parses, calls one service, renders."""
