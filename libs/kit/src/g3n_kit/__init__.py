"""g3n_kit."""
