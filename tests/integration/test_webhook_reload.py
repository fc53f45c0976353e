"""The webhook picks up a renewed certificate (cert-manager rewrites the mounted Secret)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509

from sidecar.inject import InjectionConfig
from sidecar.webhook import WebhookSettings, cert_reloader, make_app, tls_context
from tests.conftest import free_port
from tests.support.tls import write_tls

pytestmark = [pytest.mark.integration]


async def served_serial(port: int, ca_file: Path) -> int:
    client = ssl.create_default_context(cafile=str(ca_file))
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        await writer.wait_closed()
    return int(x509.load_der_x509_certificate(der).serial_number)


async def test_renewed_certificate_is_served_without_restart(short_tmp: Path) -> None:
    """After the cert and key files change, new TLS handshakes present the new certificate."""
    first, second = short_tmp / "a", short_tmp / "b"
    first.mkdir(), second.mkdir()
    ca_file, cert_file, key_file = write_tls(first)
    new_ca, new_cert, new_key = write_tls(second)
    settings = WebhookSettings(
        config=InjectionConfig(image="i", broker_url="http://b"),
        cert_file=cert_file,
        key_file=key_file,
        port=free_port(),
        cert_check_s=0.05,
    )
    context = tls_context(cert_file, key_file)
    app = make_app(settings.config, settings.max_body_bytes)
    app.cleanup_ctx.append(cert_reloader(context, settings))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", settings.port, ssl_context=context).start()
        old = await served_serial(settings.port, ca_file)
        key_file.chmod(0o600)
        cert_file.write_bytes(new_cert.read_bytes())
        key_file.write_bytes(new_key.read_bytes())
        deadline = time.monotonic() + 5
        serial = old
        while serial == old and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            with contextlib.suppress(ssl.SSLCertVerificationError):  # still the old one
                serial = await served_serial(settings.port, new_ca)
        assert serial != old
    finally:
        await runner.cleanup()
