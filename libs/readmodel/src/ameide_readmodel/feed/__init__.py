"""The live-update feed's contract between its writer (the projector) and its readers (the query service).

``names``: the feed of a chat or an artifact (what resume tokens name); ``entries``: an update and a stored entry;
``tables``: ``rm_feed`` and ``rm_feed_heads``; ``keys``: how entries are laid out in Redis Streams. Neither a
Redis client nor a metric lives here: publishing is the projector's, reading the query service's.
"""
