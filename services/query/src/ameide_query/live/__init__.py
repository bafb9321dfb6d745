"""Live signals: presence, typing and draft assistant messages, kept in Redis with TTLs (never in the event log).

``PresenceStore`` and ``DraftStore`` change them through Lua scripts (``lua/``), each of which also appends the
resulting signal to the resource's signal stream; the live reader (``ameide_query.streams``) follows those streams
beside the durable feeds, and ``Sweeper`` turns passed deadlines into LEFT / TYPING_STOPPED / abandoned signals.
``Snapshots`` reads what a subscriber starts from. ``handlers`` serve PresenceService and DraftService.
"""
