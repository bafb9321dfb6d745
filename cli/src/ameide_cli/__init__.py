"""The ``ameide`` command: dev, serve, migrate, token, bench, import-legacy, projector rebuild."""
