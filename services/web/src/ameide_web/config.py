"""The web deployable's settings: its server, its port and bundle, and (development only) token minting.

It serves files, never an RPC, so it verifies no token and reads no verification key; only with development
tokens on does it need ``AMEIDE_JWT_SECRET`` (and the services' claim names) to mint tokens they accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self

from ameide_runtime.settings import ServerSettings, SettingsError, port, read, setting


@dataclass(frozen=True, slots=True)
class WebSettings:
    """Field ``x`` is read from ``AMEIDE_X`` (sections' fields likewise); see the README's configuration table."""

    server: ServerSettings = field(default_factory=ServerSettings)
    web_port: int = setting(8080, parse=port)
    web_static_dir: str = ""  # the app bundle to serve; empty = the one shipped in ameide_web/static
    web_dev_tokens: bool = False  # `ameide dev` only: GET /dev/token mints JWTs with AMEIDE_JWT_SECRET
    jwt_secret: str = ""
    jwt_tenant_claim: str = "tenant_id"
    jwt_audience: str = ""
    jwt_issuer: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        """The settings in ``environ``; ``SettingsError`` names the first bad variable."""
        return read(cls, environ)

    def validate(self) -> None:
        """Development tokens need the secret the services verify them with."""
        if self.web_dev_tokens and not self.jwt_secret:
            raise SettingsError("AMEIDE_WEB_DEV_TOKENS: development tokens are signed with AMEIDE_JWT_SECRET; set it")

    def ports(self) -> tuple[int, int]:
        """The HTTP port; the web deployable exports no metrics."""
        return self.web_port, 0
