"""Stage 4: plan. For every workload, enumerate (pattern x placement x recipe), estimate,
filter by constraints, pick by objective, and keep every rejected candidate with its reason."""
