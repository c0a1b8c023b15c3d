"""domain layer of g3n_influencer."""
