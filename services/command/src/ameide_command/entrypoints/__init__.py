"""gRPC entrypoints: parse and validate requests into commands, call the handlers, build replies."""
