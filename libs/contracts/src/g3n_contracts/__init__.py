"""g3n_contracts."""
