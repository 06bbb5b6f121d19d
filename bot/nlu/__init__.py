"""NLU components of the after-sales assistant (rule-based entities)."""
