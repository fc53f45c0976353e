"""Admin API and `sluice broker sessions`: list, show, revoke one, the kill switch by subject,
and the admin credential's boundaries (distinct from workload identities, socket-only)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from demo.issuer import Issuer
from demo.openbao import DevServer
from tests.conftest import Proc, Scope, free_port
from tests.support.clients import AdminAccess, admin_cli, http
from tests.support.sessions import write_sqlite_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_admin_lists_shows_and_revokes_sessions_over_its_socket_only(
    start_broker: Callable[[Path], tuple[Proc, str]],
    short_tmp: Path,
    issuer: Issuer,
    openbao: DevServer,
    broker_vault_token_file: Path,
    scope: Scope,
) -> None:
    """The kill switch revokes every matching session and reports how many; the admin
    credential is required, workload tokens are not admins, TCP has no admin routes."""
    admin = AdminAccess.create(short_tmp)
    admin_token, sock = admin.token, admin.socket
    config = write_sqlite_config(
        short_tmp,
        openbao=openbao,
        token_file=broker_vault_token_file,
        issuer=issuer,
        scope=scope,
        port=free_port(),
        admin=admin.config,
    )
    broker, base = start_broker(config)
    subjects = [f"system:serviceaccount:team-a:app{i}" for i in range(3)] + [
        "system:serviceaccount:team-b:app"
    ]
    opened = []
    for sub in subjects:
        status, body = http("POST", base + "/v1/sessions", issuer.mint(sub=sub))
        assert status == 201, body
        opened.append(body)

    # TCP: the admin routes do not exist there, with or without the credential.
    assert http("GET", base + "/v1/admin/sessions", admin_token)[0] == 404

    listed = admin.cli("list")
    assert listed.returncode == 0, listed.stderr
    assert all(o["session_id"] in listed.stdout for o in opened)
    assert "4 session(s)" in listed.stdout
    shown = admin.cli("show", opened[0]["session_id"])
    assert json.loads(shown.stdout)["subject"] == subjects[0]

    wrong = short_tmp / "wrong"
    wrong.write_text(opened[0]["token"])  # a workload's session token is not an admin
    refused = admin_cli(sock, wrong, "list")
    assert refused.returncode == 2 and "admin_unauthorized" in refused.stderr

    one = admin.cli("revoke", opened[3]["session_id"])
    assert one.returncode == 0 and "revoked" in one.stdout
    assert openbao.lookup_status(opened[3]["token"]) == 403

    kill = admin.cli("revoke", "--subject", "system:serviceaccount:team-a:*")
    assert kill.returncode == 0, kill.stderr
    assert "3 matched, 3 revoked, 0 still ending" in kill.stdout
    for body in opened:
        assert openbao.lookup_status(body["token"]) == 403
    again = admin.cli("revoke", "--subject", "system:serviceaccount:team-a:*")
    assert "0 matched" in again.stdout
    states = json.loads(admin.cli("list", "--state", "all", "--json").stdout)
    assert sorted(s["state"] for s in states["sessions"]) == ["revoked"] * 4

    broker.stop()
    out = broker.output()
    assert admin_token not in out and all(o["token"] not in out for o in opened)
