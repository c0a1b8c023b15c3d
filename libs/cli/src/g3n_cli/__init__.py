"""g3n_cli."""
