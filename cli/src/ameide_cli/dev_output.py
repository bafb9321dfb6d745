"""What ``ameide dev`` prints: each service's log lines with a colored prefix, and the ready banner."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from ameide_cli.errors import redact

COLORS = {
    "command": "cyan",
    "query": "magenta",
    "projector": "yellow",
    "web": "blue",
    "gateway": "bright_blue",
    "agent": "green",
    "dev": "bold green",
}
WIDTH = max(len(name) for name in COLORS)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where everything listens, and how to authenticate."""

    command: str
    query: str
    projector_health: str
    web: str
    database_url: str
    redis_url: str
    token: str
    user_id: str
    tenant_id: str


class DevConsole:
    """Prefixed, colored output shared by every service's log stream."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)

    def _prefix(self, name: str) -> Text:
        return Text(f"{name:>{WIDTH}} │ ", style=COLORS.get(name.split("-", maxsplit=1)[0], "white"))

    def log_line(self, name: str, line: str) -> None:
        """One line a service printed (shown verbatim: never interpreted as markup)."""
        self.console.print(self._prefix(name) + Text(line))

    def event(self, name: str, text: str) -> None:
        """Something the supervisor did to a service (started, crashed, restarted, stopped)."""
        self.console.print(self._prefix(name) + Text(text, style="bold"))

    def say(self, text: str) -> None:
        """A message from ``ameide dev`` itself."""
        self.console.print(self._prefix("dev") + Text(text))

    def banner(self, endpoints: Endpoints) -> None:
        """The ready message: endpoints, a token, and calls to paste."""
        self.console.print(Text(_banner(endpoints)), style="green")


def _banner(e: Endpoints) -> str:
    curl = "npx @bufbuild/buf curl --protocol grpc --http2-prior-knowledge"
    auth = f'-H "Authorization: Bearer {e.token}"'
    chats = "ameide_core_proto.threads.v1"
    return f"""
Ameide Threads is running. Ctrl-C stops everything.

  web app           {e.web}   (and gRPC-Web for the services, through Envoy)
  command service   {e.command}   (ChatCommandService, ArtifactCommandService)
  query service     {e.query}   (ChatQueryService, ArtifactQueryService, PresenceService, DraftService)
  projector health  {e.projector_health}
  PostgreSQL        {redact(e.database_url)}
  Redis             {e.redis_url}

Dev token (user {e.user_id}, tenant {e.tenant_id}; `ameide token --user U --tenant T` mints others):
  {e.token}

List the methods (reflection):
  {curl} --list-methods http://{e.command}

Create a chat, then read it:
  {curl} {auth} --data '{{"title": "Hello"}}' http://{e.command}/{chats}.ChatCommandService/CreateChat
  {curl} {auth} --data '{{"threadsId": "<id>"}}' http://{e.query}/{chats}.ChatQueryService/GetChat

From Python:
  import grpc
  from ameide_core_proto.threads.v1 import threads_service_pb2 as t, threads_service_pb2_grpc as rpc
  auth = (("authorization", "Bearer {e.token}"),)
  chat = rpc.ChatCommandServiceStub(grpc.insecure_channel("{e.command}")).CreateChat(
      t.CreateChatRequest(title="Hello"), metadata=auth)
  print(rpc.ChatQueryServiceStub(grpc.insecure_channel("{e.query}")).GetChat(
      t.GetChatRequest(threads_id=chat.threads.id, consistency_token=chat.consistency_token), metadata=auth))
"""
