"""Pure decision engines: conditions, scoring, routing, SLA and stage gates (plain Python)."""
