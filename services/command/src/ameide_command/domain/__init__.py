"""Pure decision logic: chat and artifact aggregates as decide/evolve functions (no I/O).

The stored events are the protobuf messages of the wire contract (``ameide_core_proto``); the domain emits them
directly rather than mirroring them as dataclasses, because the event protos *are* the contract the projector
decodes and a parallel dataclass tree would only add a lossy mapping (message parts, attachments, labels).
Refusals are the domain's own errors (``errors``); the edge maps them to gRPC statuses.
"""
