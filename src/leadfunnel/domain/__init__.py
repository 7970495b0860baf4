"""Entities, identifiers, the lifecycle state machine and domain errors (plain Python)."""
