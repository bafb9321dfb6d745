"""Application layer: one handler per command, each load -> decide -> append in one short transaction."""
