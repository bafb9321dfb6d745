"""The ``ameide`` command: one-line errors, token minting, the dev lock, and the supervisor's restarts."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import jwt
import pytest

from ameide_cli import delegates, dev_env
from ameide_cli.errors import CliError, redact
from ameide_cli.main import main
from ameide_cli.supervisor import ChildSpec, Supervisor

pytestmark = pytest.mark.unit

SECRET = "cli-test-secret-with-32-characters!!"


class TestErrors:
    def test_unknown_flag_is_one_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A wrong flag prints one line and exits 2."""
        with pytest.raises(SystemExit) as caught:
            main(["serve", "command", "--bogus"], environ={})
        err = capsys.readouterr().err
        assert caught.value.code == 2
        assert err.count("\n") == 1
        assert "--bogus" in err

    def test_bad_setting_names_the_variable(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A bad setting prints one line naming the variable and exits 2."""
        assert main(["serve", "command"], environ={"AMEIDE_COMMAND_PORT": "x", "AMEIDE_JWT_SECRET": SECRET}) == 2
        err = capsys.readouterr().err
        assert err.startswith("ameide: invalid configuration: AMEIDE_COMMAND_PORT")
        assert err.count("\n") == 1

    def test_migrate_without_database_names_the_variable(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``ameide migrate`` without AMEIDE_DATABASE_URL says which variable is missing."""
        assert main(["migrate"], environ={}) == 2
        assert "AMEIDE_DATABASE_URL" in capsys.readouterr().err

    def test_passwords_are_redacted(self) -> None:
        """Database URLs in messages never show their password."""
        assert redact("postgresql://app:s3cret@db:5432/x failed") == "postgresql://app:***@db:5432/x failed"


class TestToken:
    def test_prints_a_verifiable_token(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``ameide token`` prints only an HS256 JWT with sub, tenant claim and exp."""
        assert (
            main(["token", "--user", "alice", "--tenant", "acme", "--ttl", "60"], environ={"AMEIDE_JWT_SECRET": SECRET})
            == 0
        )
        claims = jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"])
        assert ("alice", "acme", 60) == (claims["sub"], claims["tenant_id"], claims["exp"] - claims["iat"])

    def test_secret_flag_and_tenant_claim(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--secret overrides the environment; the tenant claim follows AMEIDE_JWT_TENANT_CLAIM."""
        environ = {"AMEIDE_JWT_TENANT_CLAIM": "org"}
        assert main(["token", "--user", "u", "--tenant", "t", "--secret", SECRET], environ=environ) == 0
        assert jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"])["org"] == "t"

    def test_without_secret_names_the_variable(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """No secret anywhere: one line naming AMEIDE_JWT_SECRET."""
        assert main(["token", "--user", "u", "--tenant", "t", "--data-dir", str(tmp_path)], environ={}) == 2
        assert "AMEIDE_JWT_SECRET" in capsys.readouterr().err

    def test_falls_back_to_the_dev_secret(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """Without AMEIDE_JWT_SECRET, the token is signed with the secret `ameide dev` persisted."""
        secret = dev_env.load_secrets(tmp_path).jwt_secret
        assert main(["token", "--user", "u", "--tenant", "t", "--data-dir", str(tmp_path)], environ={}) == 0
        assert jwt.decode(capsys.readouterr().out.strip(), secret, algorithms=["HS256"])["sub"] == "u"


class TestDelegates:
    def test_delegated_commands_keep_their_own_flags(self) -> None:
        """Arguments after a delegated command go to it untouched, flags included."""
        assert delegates.split(["bench", "--quick", "x"]) == ("bench", ["--quick", "x"])
        assert delegates.split(["projector", "rebuild", "--yes"]) == ("projector rebuild", ["--yes"])
        assert delegates.split(["serve", "command"]) is None


class TestDevLock:
    def test_second_holder_is_told_who_runs(self, tmp_path: Path) -> None:
        """A second ``ameide dev`` on the same data dir fails with the first one's pid."""
        with dev_env.exclusive(tmp_path), pytest.raises(CliError, match="already running"), dev_env.exclusive(tmp_path):
            pass

    def test_lock_is_released(self, tmp_path: Path) -> None:
        """After the first run ends, the data dir can be used again."""
        with dev_env.exclusive(tmp_path):
            pass
        with dev_env.exclusive(tmp_path):
            assert (tmp_path / dev_env.LOCK_FILE).read_text().strip().isdigit()

    def test_secrets_persist(self, tmp_path: Path) -> None:
        """The dev secrets are created once and read back afterwards."""
        assert dev_env.load_secrets(tmp_path) == dev_env.load_secrets(tmp_path)


class TestSupervisor:
    async def test_crashed_child_is_reported_and_restarted(self) -> None:
        """A child that exits is reported and started again until the supervisor stops."""
        events: list[str] = []
        restarted = asyncio.Event()

        def on_event(name: str, text: str) -> None:
            events.append(f"{name}: {text}")
            if sum("started" in e for e in events) >= 2:
                restarted.set()

        argv = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]
        output: list[str] = []
        supervisor = Supervisor(
            [ChildSpec("crashy", argv)],
            grace_seconds=5,
            on_output=lambda _n, line: output.append(line),
            on_event=on_event,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(supervisor.run(stop))
        await asyncio.wait_for(restarted.wait(), 30)
        stop.set()
        await task
        assert any("exited with code 3; restarting" in e for e in events)
        assert "boom" in output

    async def test_stop_terminates_children(self) -> None:
        """Stopping sends SIGTERM to running children and waits for them."""
        events: list[str] = []
        started = asyncio.Event()

        def on_event(name: str, text: str) -> None:
            events.append(text)
            started.set()

        argv = [sys.executable, "-c", "import time; time.sleep(60)"]
        supervisor = Supervisor([ChildSpec("sleeper", argv)], grace_seconds=5, on_event=on_event)
        stop = asyncio.Event()
        task = asyncio.create_task(supervisor.run(stop))
        await asyncio.wait_for(started.wait(), 30)
        stop.set()
        await task
        assert events[-1] == "stopped (code -15)"
