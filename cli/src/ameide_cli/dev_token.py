"""``ameide token``: mint an HS256 development JWT for a user and tenant."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from ameide_cli.commands import Subparsers
from ameide_cli.dev_env import load_secrets
from ameide_runtime.auth import mint_token
from ameide_runtime.settings import AuthSettings, read


def register(subparsers: Subparsers) -> None:
    """Add the ``token`` subcommand."""
    parser = subparsers.add_parser("token", help="print an HS256 development JWT (secret: AMEIDE_JWT_SECRET)")
    parser.add_argument("--user", required=True, help="user id (the token's sub)")
    parser.add_argument("--tenant", required=True, help="tenant id (the AMEIDE_JWT_TENANT_CLAIM claim)")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    parser.add_argument(
        "--secret", default="", help="signing secret (default: AMEIDE_JWT_SECRET, else the one `ameide dev` uses)"
    )
    parser.add_argument("--data-dir", type=Path, default=Path(".ameide-dev"), help="`ameide dev` data directory")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Entry point of ``ameide token``: prints only the token, so ``$(ameide token ...)`` works."""
    env = {**environ, "AMEIDE_AUTH": "jwt"}
    if args.secret:
        env["AMEIDE_JWT_SECRET"] = args.secret
    elif not env.get("AMEIDE_JWT_SECRET") and (args.data_dir / "secrets.json").exists():
        # Tokens for the local `ameide dev` stack work without copying its secret around.
        env["AMEIDE_JWT_SECRET"] = load_secrets(args.data_dir).jwt_secret
    settings = read(AuthSettings, env)
    if not settings.jwt_secret:
        from ameide_runtime.settings import SettingsError  # noqa: PLC0415 - the one error raised here

        raise SettingsError("AMEIDE_JWT_SECRET: required to mint an HS256 token (or pass --secret)")
    if args.ttl <= 0:
        from ameide_cli.errors import CliError  # noqa: PLC0415

        raise CliError("--ttl must be positive", code=2)
    print(
        mint_token(
            settings.jwt_secret,
            user_id=args.user,
            tenant_id=args.tenant,
            ttl_seconds=args.ttl,
            tenant_claim=settings.jwt_tenant_claim,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    )
    return 0
