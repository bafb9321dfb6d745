"""The web deployable: serves the reference web app's bundle (``ameide serve web``), with an SPA fallback."""
