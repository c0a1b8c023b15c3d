"""g3n_influencer."""
