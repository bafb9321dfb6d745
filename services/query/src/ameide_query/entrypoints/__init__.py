"""gRPC servicers of the query deployable: parse -> handler -> reply (errors are mapped by the runtime)."""
