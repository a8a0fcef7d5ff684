"""Track histories: what the pipeline remembers of each track, in time."""
