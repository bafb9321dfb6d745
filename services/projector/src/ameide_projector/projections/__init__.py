"""Pure projections: stored events in, read-model row changes out (no I/O)."""
