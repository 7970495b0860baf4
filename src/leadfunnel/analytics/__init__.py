"""Analytics specs and their pure-Python oracles (plain Python, no I/O)."""
