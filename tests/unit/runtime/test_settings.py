"""Settings: each deployable parses its own AMEIDE_* variables once; errors name the variable; all are documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from ameide_command.config import CommandSettings
from ameide_pg.urls import sqlalchemy_url
from ameide_projector.config import ProjectorSettings
from ameide_query.config import QuerySettings
from ameide_runtime.settings import SettingsError, parse_mapping, variables
from ameide_web.config import WebSettings

pytestmark = pytest.mark.unit

JWT = {"AMEIDE_JWT_SECRET": "s" * 32}
README = Path(__file__).resolve().parents[3] / "README.md"
Deployable = type[CommandSettings | QuerySettings | ProjectorSettings | WebSettings]
DEPLOYABLES: tuple[Deployable, ...] = (CommandSettings, QuerySettings, ProjectorSettings, WebSettings)
SERVICES = (CommandSettings, QuerySettings)  # the deployables serving client calls
STORE_USERS = (CommandSettings, QuerySettings, ProjectorSettings)  # the deployables reaching PostgreSQL and Redis


def _readers(name: str) -> list[Deployable]:
    return [cls for cls in DEPLOYABLES if name in variables(cls)]


class TestFromEnv:
    def test_defaults_match_the_design(self) -> None:
        """Ports and limits default to design.md section 8's values."""
        command, query, projector = (
            CommandSettings.from_env(JWT),
            QuerySettings.from_env(JWT),
            ProjectorSettings.from_env(JWT),
        )
        assert (50051, 50052, 50053, 9464, 9465, 9466) == (
            command.command_port,
            query.query_port,
            projector.projector_health_port,
            command.command_metrics_port,
            query.query_metrics_port,
            projector.projector_metrics_port,
        )

    def test_values_are_parsed_by_type(self) -> None:
        """Integers, floats, tuples, mappings and URLs are parsed from their text."""
        settings = CommandSettings.from_env(
            {
                **JWT,
                "AMEIDE_COMMAND_PORT": "6000",
                "AMEIDE_SHUTDOWN_GRACE_SECONDS": "2.5",
                "AMEIDE_JWT_ALGORITHMS": "HS256, RS256",
                "AMEIDE_AGENT_BY_KIND": "bpmn=bpmn-assistant,code=coder",
                "AMEIDE_DATABASE_URL": "postgres://u@h/db",
            }
        )
        assert settings.command_port == 6000
        assert settings.server.shutdown_grace_seconds == 2.5
        assert settings.auth.jwt_algorithms == ("HS256", "RS256")
        assert dict(settings.agent_by_kind) == {"bpmn": "bpmn-assistant", "code": "coder"}
        assert settings.stores.database_url == "postgresql+psycopg://u@h/db"

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("AMEIDE_COMMAND_PORT", "not-a-number"),
            ("AMEIDE_QUERY_PORT", "70000"),
            ("AMEIDE_PROJECTOR_HEALTH_PORT", "-1"),
            ("AMEIDE_AUTH", "magic"),
            ("AMEIDE_DATABASE_URL", "mysql://x"),
            ("AMEIDE_TOKEN_SECRET", "short"),
            ("AMEIDE_AGENT_BY_KIND", "bpmn"),
            ("AMEIDE_OUTBOX_SHARDS", "0"),
            ("AMEIDE_LOG_FORMAT", "xml"),
            ("AMEIDE_SHUTDOWN_GRACE_SECONDS", "soon"),
            ("AMEIDE_DRAFT_TTL_SECONDS", "0"),
            ("AMEIDE_PRESENCE_VIEWING_TTL_SECONDS", "-1"),
        ],
    )
    def test_invalid_value_names_the_variable(self, name: str, value: str) -> None:
        """A bad value raises SettingsError whose message starts with the variable's name, in every reader of it."""
        readers = _readers(name)
        assert readers
        for deployable in readers:
            with pytest.raises(SettingsError) as caught:
                deployable.from_env({**JWT, name: value})
            assert str(caught.value).startswith(name)

    def test_each_deployable_reads_only_its_own_variables(self) -> None:
        """A bad value of a variable a deployable does not read cannot stop it."""
        foreign = {"AMEIDE_QUERY_PORT": "70000", "AMEIDE_AGENT_BY_KIND": "bpmn", "AMEIDE_PROJECTOR_ON_ERROR": "x"}
        for deployable in DEPLOYABLES:
            mine = set(variables(deployable))
            deployable.from_env({**JWT, **{k: v for k, v in foreign.items() if k not in mine}})

    def test_jwt_mode_needs_a_key(self) -> None:
        """AMEIDE_AUTH=jwt without a secret or public key names AMEIDE_JWT_SECRET."""
        for service in SERVICES:
            with pytest.raises(SettingsError, match=r"^AMEIDE_JWT_SECRET"):
                service.from_env({})

    def test_the_projector_and_web_need_no_key(self) -> None:
        """The projector and the web deployable serve no client calls: they start without authentication settings."""
        assert ProjectorSettings.from_env({}).outbox_shards == 64
        assert WebSettings.from_env({}).web_port == 8080

    def test_insecure_headers_needs_no_key(self) -> None:
        """The dev mode starts without JWT settings."""
        for service in SERVICES:
            assert service.from_env({"AMEIDE_AUTH": "insecure-headers"}).auth.auth == "insecure-headers"

    def test_missing_database_names_the_variable(self) -> None:
        """Asking for the database when none is configured names AMEIDE_DATABASE_URL."""
        for deployable in STORE_USERS:
            with pytest.raises(SettingsError, match=r"^AMEIDE_DATABASE_URL"):
                deployable.from_env(JWT).stores.require_database()

    def test_token_key_required_in_jwt_mode(self) -> None:
        """Production mode refuses to sign tokens without AMEIDE_TOKEN_SECRET."""
        for service in SERVICES:
            with pytest.raises(SettingsError, match=r"^AMEIDE_TOKEN_SECRET"):
                service.from_env(JWT).auth.token_key()

    def test_typing_must_end_before_viewing(self) -> None:
        """A typing client is a viewing one: its TTL must be the shorter."""
        with pytest.raises(SettingsError, match=r"^AMEIDE_PRESENCE_TYPING_TTL_SECONDS"):
            QuerySettings.from_env({**JWT, "AMEIDE_PRESENCE_TYPING_TTL_SECONDS": "30"})
        live = QuerySettings.from_env({**JWT, "AMEIDE_PRESENCE_TYPING_TTL_SECONDS": "0.5"}).live
        assert (live.presence_typing_ttl_seconds, live.presence_viewing_ttl_seconds) == (0.5, 30.0)

    def test_query_database_defaults_to_primary(self) -> None:
        """Without a replica URL the query service reads the primary."""
        settings = QuerySettings.from_env({**JWT, "AMEIDE_DATABASE_URL": "postgresql://u@h/db"})
        assert settings.read_database_url() == settings.stores.database_url

    def test_unknown_variables_are_ignored(self) -> None:
        """Variables the settings do not know do not stop the process."""
        for deployable in DEPLOYABLES:
            deployable.from_env({**JWT, "AMEIDE_SOMETHING_ELSE": "1"})
        assert CommandSettings.from_env({**JWT, "AMEIDE_SOMETHING_ELSE": "1"}).auth.auth == "jwt"


class TestHelpers:
    def test_mapping_rejects_items_without_equals(self) -> None:
        """parse_mapping needs key=value items."""
        with pytest.raises(ValueError, match="key=value"):
            parse_mapping("a=b,c")

    def test_database_url_schemes(self) -> None:
        """postgres://, postgresql:// and postgresql+psycopg:// all become the psycopg 3 driver."""
        urls = ["postgres://h/d", "postgresql://h/d", "postgresql+psycopg://h/d"]
        assert {sqlalchemy_url(url) for url in urls} == {"postgresql+psycopg://h/d"}


def test_every_setting_is_documented_in_the_readme() -> None:
    """The README's configuration table lists every AMEIDE_* variable any deployable reads."""
    text = README.read_text(encoding="utf-8")
    every = {name for deployable in DEPLOYABLES for name in variables(deployable)}
    missing = sorted(name for name in every if f"`{name}`" not in text)
    assert missing == []
    assert len(every) == 49  # with AMEIDE_GROUP_COMMIT (D65) and the live-signal settings (D70-D74)
