"""A local OIDC issuer: keys generated at start, discovery + JWKS served on loopback.

The same shape a Kubernetes API server or GitHub Actions exposes: ``/.well-known/
openid-configuration`` naming a ``jwks_uri``. It runs its own event loop in a daemon thread so
synchronous code (the demo, pytest fixtures) and any async test loop can use it alike.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Self

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa

_DELETE = object()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: Any  # rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def rsa(cls, kid: str | None = None) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid or f"rsa-{uuid.uuid4().hex[:8]}", "RS256", key)

    @classmethod
    def ec(cls, kid: str | None = None) -> SigningKey:
        return cls(
            kid or f"ec-{uuid.uuid4().hex[:8]}", "ES256", ec.generate_private_key(ec.SECP256R1())
        )

    def public_jwk(self) -> dict[str, Any]:
        algo = jwt.get_algorithm_by_name(self.alg)
        jwk: dict[str, Any] = algo.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


class Issuer:
    def __init__(
        self,
        keys: list[SigningKey] | None = None,
        audience: str = "sluice",
        host: str = "127.0.0.1",
    ) -> None:
        self.keys = keys if keys is not None else [SigningKey.rsa(), SigningKey.ec()]
        self.audience = audience
        self._host = host
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # --- tokens -------------------------------------------------------------------------
    def mint(
        self,
        claims: dict[str, Any] | None = None,
        *,
        key: SigningKey | None = None,
        ttl_s: float = 300,
        now: float | None = None,
        **overrides: Any,
    ) -> str:
        """A signed JWT. ``overrides`` replace default claims; an override of None removes it."""
        issued = time.time() if now is None else now
        body: dict[str, Any] = {
            "iss": self.url,
            "sub": "system:serviceaccount:demo:app",
            "aud": self.audience,
            "iat": int(issued),
            "nbf": int(issued),
            "exp": int(issued + ttl_s),
            "jti": uuid.uuid4().hex,
        }
        body.update(claims or {})
        for name, value in overrides.items():
            if value is None:
                body.pop(name, None)
            else:
                body[name] = value
        signer = key or self.keys[0]
        return jwt.encode(body, signer.private, algorithm=signer.alg, headers={"kid": signer.kid})

    # --- HTTP ---------------------------------------------------------------------------
    def _app(self) -> web.Application:
        async def discovery(_: web.Request) -> web.Response:
            return web.json_response(
                {
                    "issuer": self.url,
                    "jwks_uri": self.url + "/keys",
                    "response_types_supported": ["id_token"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": sorted({k.alg for k in self.keys}),
                }
            )

        async def keys(_: web.Request) -> web.Response:
            return web.json_response({"keys": [k.public_jwk() for k in self.keys]})

        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", discovery)
        app.router.add_get("/keys", keys)
        return app

    def start(self) -> Self:
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                runner = web.AppRunner(self._app(), access_log=None)
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, self._host, 0)
                loop.run_until_complete(site.start())
                self._runner = runner
                port = runner.addresses[0][1]
                self.url = f"http://{self._host}:{port}"
            except BaseException as exc:  # noqa: BLE001 - re-raised in the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="oidc-issuer", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("issuer did not start within 10 s")
        if failure:
            raise RuntimeError("issuer failed to start") from failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
