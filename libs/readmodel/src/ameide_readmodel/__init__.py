"""The read model shared by its writer (the projector) and its reader (the query service).

One module per part of the model holds its tables and the row types read from and written to them, in column
order: ``chats`` (chats, their search documents, messages), ``artifacts`` (artifacts, their versions and history),
``links`` (chat <-> artifact) and ``schema`` (applied stream versions, and the tables a rebuild creates). ``wire``
turns rows into the contract's messages; ``feed`` is the live-update feed's contract. No I/O happens here: the
migrations create these tables (as frozen snapshots, never importing this package), the projector writes them and
the query service reads them.
"""
