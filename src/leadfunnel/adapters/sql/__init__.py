"""The write store: SQLAlchemy Core tables, engine set-up, repositories, migrations."""
