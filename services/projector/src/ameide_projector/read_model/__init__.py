"""The read model's tables and the SQL that writes them (the only SQL of the projector)."""
