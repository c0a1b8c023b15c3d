"""g3n_crm."""
