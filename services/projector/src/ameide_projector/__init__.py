"""The projector deployable: applies the event log to the read model (and the live-update feeds)."""
