"""Adapters: the only code that touches I/O libraries (SQLAlchemy, DuckDB, HTTP, SMTP)."""
