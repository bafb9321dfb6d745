"""The query deployable: every read of chats and artifacts from the read model, plus live update streams."""
