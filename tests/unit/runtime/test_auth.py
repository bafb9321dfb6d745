"""The auth interceptor: JWT (HS256, RS256, ES256) and insecure-headers modes, identity bound for the handler."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from google.protobuf import wrappers_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ameide_runtime import identity
from ameide_runtime.auth import JwtAuthenticator, mint_token
from ameide_runtime.grpc_server import ServiceBinding
from ameide_runtime.settings import AuthSettings, SettingsError
from tests.support.grpc_status import details_of
from tests.support.inprocess import Running, serving

pytestmark = pytest.mark.unit

SERVICE = "ameide.test.v1.WhoAmI"
SECRET = "unit-test-secret-with-32-characters!"


def _pem_pair(private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> tuple[bytes, str]:
    private = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


RSA_PRIVATE, RSA_PUBLIC = _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
EC_PRIVATE, EC_PUBLIC = _pem_pair(ec.generate_private_key(ec.SECP256R1()))
OTHER_EC_PRIVATE, _ = _pem_pair(ec.generate_private_key(ec.SECP256R1()))


async def _who(request: wrappers_pb2.StringValue, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    caller = identity.reconcile(tenant_id=request.value)
    return wrappers_pb2.StringValue(value=f"{caller.user_id}|{caller.tenant_id}")


async def _who_stream(
    request: wrappers_pb2.StringValue, context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[wrappers_pb2.StringValue]:
    for _ in range(2):
        caller = identity.current()
        yield wrappers_pb2.StringValue(value=f"{caller.user_id}|{caller.tenant_id}")


def _add(_servicer: object, server: grpc.aio.Server) -> None:
    common: dict[str, Any] = {
        "request_deserializer": wrappers_pb2.StringValue.FromString,
        "response_serializer": wrappers_pb2.StringValue.SerializeToString,
    }
    handlers = {
        "Who": grpc.unary_unary_rpc_method_handler(_who, **common),
        "WhoStream": grpc.unary_stream_rpc_method_handler(_who_stream, **common),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


BINDINGS = [ServiceBinding(SERVICE, _add, object())]


@pytest.fixture(name="jwt_server", scope="module")
async def fixture_jwt_server() -> AsyncIterator[Running]:
    """A server accepting HS256, RS256 and ES256 tokens, tenant claim "org"."""
    settings = AuthSettings(
        auth="jwt",
        jwt_secret=SECRET,
        jwt_public_key=RSA_PUBLIC,
        jwt_algorithms=("HS256", "RS256"),
        jwt_tenant_claim="org",
    )
    async with serving(settings, BINDINGS) as running:
        yield running


@pytest.fixture(name="ec_server", scope="module")
async def fixture_ec_server() -> AsyncIterator[Running]:
    """A server accepting only ES256 tokens with an audience and issuer."""
    settings = AuthSettings(
        auth="jwt", jwt_public_key=EC_PUBLIC, jwt_algorithms=("ES256",), jwt_audience="threads", jwt_issuer="idp"
    )
    async with serving(settings, BINDINGS) as running:
        yield running


@pytest.fixture(name="headers_server", scope="module")
async def fixture_headers_server() -> AsyncIterator[Running]:
    """A server in insecure-headers mode."""
    async with serving(AuthSettings(auth="insecure-headers"), BINDINGS) as running:
        yield running


async def _call(running: Running, metadata: tuple[tuple[str, str], ...], tenant: str = "") -> str:
    async with grpc.aio.insecure_channel(running.target) as channel:
        method = channel.unary_unary(
            f"/{SERVICE}/Who",
            request_serializer=wrappers_pb2.StringValue.SerializeToString,
            response_deserializer=wrappers_pb2.StringValue.FromString,
        )
        reply = await method(wrappers_pb2.StringValue(value=tenant), metadata=metadata)
        return str(reply.value)


async def _rejected(running: Running, metadata: tuple[tuple[str, str], ...], tenant: str = "") -> tuple[Any, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(running, metadata, tenant)
    details = details_of(caught.value)
    return details.code, details.reason


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "user-1", "org": "tenant-1", "iat": now, "exp": now + 600, **extra}


class TestJwt:
    async def test_hs256_token_identifies_caller(self, jwt_server: Running) -> None:
        """A valid HS256 token binds sub and the configured tenant claim."""
        token = jwt.encode(_claims(), SECRET, algorithm="HS256")
        assert await _call(jwt_server, _bearer(token)) == "user-1|tenant-1"

    async def test_rs256_token_identifies_caller(self, jwt_server: Running) -> None:
        """A valid RS256 token is verified with the public key."""
        token = jwt.encode(_claims(), RSA_PRIVATE, algorithm="RS256")
        assert await _call(jwt_server, _bearer(token)) == "user-1|tenant-1"

    async def test_es256_token_with_audience_and_issuer(self, ec_server: Running) -> None:
        """A valid ES256 token with the configured aud/iss is accepted (default tenant claim)."""
        claims = {**_claims(aud="threads", iss="idp"), "tenant_id": "tenant-9"}
        token = jwt.encode(claims, EC_PRIVATE, algorithm="ES256")
        assert await _call(ec_server, _bearer(token)) == "user-1|tenant-9"

    async def test_wrong_audience_is_rejected(self, ec_server: Running) -> None:
        """A token for another audience is UNAUTHENTICATED."""
        claims = {**_claims(aud="other", iss="idp"), "tenant_id": "tenant-9"}
        token = jwt.encode(claims, EC_PRIVATE, algorithm="ES256")
        assert (grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN") == await _rejected(ec_server, _bearer(token))

    async def test_wrong_ec_key_is_rejected(self, ec_server: Running) -> None:
        """A token signed by another key is UNAUTHENTICATED."""
        claims = {**_claims(aud="threads", iss="idp"), "tenant_id": "tenant-9"}
        token = jwt.encode(claims, OTHER_EC_PRIVATE, algorithm="ES256")
        assert (grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN") == await _rejected(ec_server, _bearer(token))

    async def test_minted_dev_token_is_accepted(self, jwt_server: Running) -> None:
        """`ameide token` output works against a server with the same secret."""
        token = mint_token(SECRET, user_id="dev", tenant_id="acme", tenant_claim="org")
        assert await _call(jwt_server, _bearer(token)) == "dev|acme"

    async def test_expired_token_is_rejected(self, jwt_server: Running) -> None:
        """A token whose exp is in the past (beyond the 30 s leeway) is UNAUTHENTICATED with reason TOKEN_EXPIRED."""
        token = jwt.encode(_claims(exp=int(time.time()) - 120), SECRET, algorithm="HS256")
        assert (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED") == await _rejected(jwt_server, _bearer(token))

    async def test_token_not_yet_valid_is_rejected(self, jwt_server: Running) -> None:
        """A token whose nbf is in the future (beyond the leeway) is UNAUTHENTICATED."""
        token = jwt.encode(_claims(nbf=int(time.time()) + 600), SECRET, algorithm="HS256")
        assert (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_NOT_YET_VALID") == await _rejected(jwt_server, _bearer(token))

    async def test_wrong_secret_is_rejected(self, jwt_server: Running) -> None:
        """A token signed with another secret is UNAUTHENTICATED."""
        token = jwt.encode(_claims(), "another-secret-of-32-characters!!", algorithm="HS256")
        assert (grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN") == await _rejected(jwt_server, _bearer(token))

    async def test_alg_none_is_rejected(self, jwt_server: Running) -> None:
        """An unsigned token (alg none) is never accepted."""
        token = jwt.encode(_claims(), "", algorithm="none")
        assert (grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN") == await _rejected(jwt_server, _bearer(token))

    async def test_algorithm_not_configured_is_rejected(self, jwt_server: Running) -> None:
        """ES256 is refused by a server configured for HS256 and RS256."""
        token = jwt.encode(_claims(), EC_PRIVATE, algorithm="ES256")
        assert (grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN") == await _rejected(jwt_server, _bearer(token))

    async def test_missing_sub_is_rejected(self, jwt_server: Running) -> None:
        """A token without sub is UNAUTHENTICATED."""
        claims = _claims()
        del claims["sub"]
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        assert (await _rejected(jwt_server, _bearer(token)))[0] == grpc.StatusCode.UNAUTHENTICATED

    async def test_missing_tenant_claim_is_rejected(self, jwt_server: Running) -> None:
        """A token without the tenant claim is UNAUTHENTICATED with reason MISSING_IDENTITY."""
        claims = _claims()
        del claims["org"]
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        assert (grpc.StatusCode.UNAUTHENTICATED, "MISSING_IDENTITY") == await _rejected(jwt_server, _bearer(token))

    async def test_missing_exp_is_rejected(self, jwt_server: Running) -> None:
        """A token that never expires is refused."""
        claims = _claims()
        del claims["exp"]
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        assert (grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN") == await _rejected(jwt_server, _bearer(token))

    async def test_no_credentials_is_unauthenticated(self, jwt_server: Running) -> None:
        """No authorization metadata is UNAUTHENTICATED with reason NO_CREDENTIALS."""
        assert (grpc.StatusCode.UNAUTHENTICATED, "NO_CREDENTIALS") == await _rejected(jwt_server, ())

    async def test_garbage_token_is_unauthenticated(self, jwt_server: Running) -> None:
        """A bearer value that is not a JWT is UNAUTHENTICATED."""
        assert (grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN") == await _rejected(jwt_server, _bearer("garbage"))

    async def test_wrong_scheme_is_unauthenticated(self, jwt_server: Running) -> None:
        """Basic credentials are UNAUTHENTICATED."""
        metadata = (("authorization", "Basic dXNlcjpwYXNz"),)
        assert (grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIALS") == await _rejected(jwt_server, metadata)

    async def test_tenant_mismatch_is_permission_denied(self, jwt_server: Running) -> None:
        """A request naming another tenant than the token's is PERMISSION_DENIED (identity.reconcile)."""
        token = jwt.encode(_claims(), SECRET, algorithm="HS256")
        result = await _rejected(jwt_server, _bearer(token), tenant="tenant-2")
        assert (grpc.StatusCode.PERMISSION_DENIED, "TENANT_MISMATCH") == result

    async def test_identity_is_bound_in_streams(self, jwt_server: Running) -> None:
        """Streaming handlers see the caller on every message."""
        token = jwt.encode(_claims(), SECRET, algorithm="HS256")
        async with grpc.aio.insecure_channel(jwt_server.target) as channel:
            method = channel.unary_stream(
                f"/{SERVICE}/WhoStream",
                request_serializer=wrappers_pb2.StringValue.SerializeToString,
                response_deserializer=wrappers_pb2.StringValue.FromString,
            )
            replies = [r.value async for r in method(wrappers_pb2.StringValue(), metadata=_bearer(token))]
        assert replies == ["user-1|tenant-1", "user-1|tenant-1"]

    async def test_stream_without_credentials_is_unauthenticated(self, jwt_server: Running) -> None:
        """A streaming RPC without credentials fails before its first message."""
        async with grpc.aio.insecure_channel(jwt_server.target) as channel:
            method = channel.unary_stream(
                f"/{SERVICE}/WhoStream",
                request_serializer=wrappers_pb2.StringValue.SerializeToString,
                response_deserializer=wrappers_pb2.StringValue.FromString,
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                [r async for r in method(wrappers_pb2.StringValue())]
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED

    async def test_health_needs_no_credentials(self, jwt_server: Running) -> None:
        """Health checks (Kubernetes probes) pass without a token."""
        async with grpc.aio.insecure_channel(jwt_server.target) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=SERVICE))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


class TestInsecureHeaders:
    async def test_headers_identify_caller(self, headers_server: Running) -> None:
        """x-user-id and x-tenant-id become the caller."""
        metadata = (("x-user-id", "alice"), ("x-tenant-id", "acme"))
        assert await _call(headers_server, metadata) == "alice|acme"

    async def test_missing_headers_are_unauthenticated(self, headers_server: Running) -> None:
        """No identity headers: UNAUTHENTICATED."""
        assert (await _rejected(headers_server, ()))[0] == grpc.StatusCode.UNAUTHENTICATED

    async def test_missing_tenant_is_unauthenticated(self, headers_server: Running) -> None:
        """Only a user id: UNAUTHENTICATED naming the missing header."""
        assert (grpc.StatusCode.UNAUTHENTICATED, "MISSING_IDENTITY") == await _rejected(
            headers_server, (("x-user-id", "alice"),)
        )

    async def test_overlong_id_is_unauthenticated(self, headers_server: Running) -> None:
        """Ids longer than 128 characters are refused."""
        metadata = (("x-user-id", "a" * 129), ("x-tenant-id", "acme"))
        assert (grpc.StatusCode.UNAUTHENTICATED, "INVALID_IDENTITY") == await _rejected(headers_server, metadata)


class TestConfiguration:
    def test_alg_none_cannot_be_configured(self) -> None:
        """AMEIDE_JWT_ALGORITHMS=none is refused at start, naming the variable."""
        with pytest.raises(SettingsError, match="AMEIDE_JWT_ALGORITHMS"):
            JwtAuthenticator(AuthSettings(jwt_secret=SECRET, jwt_algorithms=("none",)))

    def test_rs256_needs_public_key(self) -> None:
        """Asymmetric algorithms without a public key are refused at start."""
        with pytest.raises(SettingsError, match="AMEIDE_JWT_PUBLIC_KEY"):
            JwtAuthenticator(AuthSettings(jwt_secret=SECRET, jwt_algorithms=("RS256",)))
