"""Use cases. Each is a function with keyword-only inputs and explicit dependencies."""
