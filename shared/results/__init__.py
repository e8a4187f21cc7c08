"""Results: stored explanations read back as JSON, CSV or figures, the team history, SQL
questions about grids, and the Redis view cache."""
