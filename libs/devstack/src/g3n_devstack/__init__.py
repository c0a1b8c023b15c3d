"""g3n_devstack."""
