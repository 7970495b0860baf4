"""The analytics engine: Ibis expressions over the lead milestones, run on DuckDB (embedded,
synced from the write store), PostgreSQL (directly) or Spark."""
