"""Reads of the read model: the only SQL of the query service (it never writes)."""
