"""The command deployable: every write on chats and artifacts, as event-sourced aggregates behind gRPC."""
