"""Bulk import of leads and their history from CSV/XLSX files (``leadfunnel import``)."""
