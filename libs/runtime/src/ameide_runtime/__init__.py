"""Shared service plumbing: settings, identity, errors, tokens, telemetry and the gRPC server lifecycle."""
