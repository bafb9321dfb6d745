"""Query handlers: validate the request, check consistency, call the views, build the reply (no SQL here)."""
