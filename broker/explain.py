"""``sluice broker explain``: which rule a token (or a claims file) matches, and why.

Prints every rule up to the first match with the reason each earlier one did not match, then
the exact grant: OpenBao policies and the rendered per-session ACL. It creates nothing: no
session, no OpenBao token or policy, no jti entry. With ``--token`` the JWT is verified for
real (issuer keys fetched, signature, time, audience); with ``--claims`` the claims are taken
as given. The token is never printed.

Exit codes: 0 a session would be granted, 1 it would be refused, 2 usage or config error.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from broker import claims, errors
from broker.acl import AclError, render_acl
from broker.config_marks import describe
from broker.policy import Grant, evaluate
from broker.settings import Settings, load


@click.command("explain")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The broker's YAML config.",
)
@click.option(
    "--token", default=None, metavar="JWT", help="Identity token to verify ('-' reads stdin)."
)
@click.option(
    "--token-file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the identity token (keeps it out of shell history and argv).",
)
@click.option(
    "--claims",
    "claims_file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file of claims, taken as given (not verified).",
)
@click.option("--issuer", default=None, help="Issuer name or URL (default: the claims' iss).")
def explain(
    config_path: Path,
    token: str | None,
    token_file: Path | None,
    claims_file: Path | None,
    issuer: str | None,
) -> None:
    """Show which rule matches an identity and the exact policy it would get."""
    if sum(x is not None for x in (token, token_file, claims_file)) != 1:
        raise click.UsageError("give exactly one of --token, --token-file, --claims")
    try:
        settings = load(config_path, os.environ)
    except errors.ConfigError as exc:
        for where, why in exc.problems:
            click.echo(f"config error: {describe(where, why)}", err=True)
        sys.exit(2)
    if claims_file is not None:
        body = _claims_from(claims_file)
        cfg = _issuer(settings, issuer or str(body.get("iss", "")))
        click.echo(f"identity: claims from {claims_file}, taken as given (NOT verified)")
    else:
        jwt_text = _token_text(token, token_file)
        wanted = _issuer(settings, issuer) if issuer else None
        try:
            cfg, verified = asyncio.run(_verify(settings, jwt_text, wanted))
        except errors.BrokerError as exc:
            click.echo(f"identity: token refused: {exc.code}: {exc.message}")
            sys.exit(1)
        body = dict(verified.claims)
        click.echo(
            f"identity: token verified for real against issuer {cfg.label} ({cfg.issuer}):"
            " signature, expiry, audience; its jti was not spent"
        )
    click.echo(f"subject: {body.get('sub')!r}")
    sys.exit(0 if _explain_rules(settings, cfg, body) else 1)


def _explain_rules(settings: Settings, cfg: claims.IssuerConfig, body: Mapping[str, Any]) -> bool:
    grant, trace = evaluate(settings.rules, cfg.issuer, body)
    click.echo("rules, in order (the first match wins; no match means deny):")
    for n, outcome in enumerate(trace, start=1):
        if outcome.matched:
            click.echo(f"  {n}. {outcome.rule}: MATCH")
        else:
            click.echo(f"  {n}. {outcome.rule}: no match")
            for reason in outcome.reasons:
                click.echo(f"       - {reason}")
    if grant is None:
        click.echo("decision: deny (no_matching_rule)")
        return False
    try:
        acl_hcl = render_acl(grant.acl, body) if grant.acl is not None else None
    except AclError as exc:
        click.echo(f"decision: deny ({exc.code}): {exc.message}")
        return False
    _print_grant(grant, acl_hcl)
    click.echo("nothing was created: no session, no OpenBao token, no policy")
    return True


def _print_grant(grant: Grant, acl_hcl: str | None) -> None:
    click.echo(f"decision: allow, rule {grant.rule!r}")
    click.echo(f"  openbao policies: {list(grant.policies)}")
    click.echo(f"  default policy: {'no' if grant.no_default_policy else 'yes'}")
    click.echo(
        f"  ttl: {grant.ttl_s}s, max_ttl: {f'{grant.max_ttl_s}s' if grant.max_ttl_s else '-'},"
        f" renewable: {str(grant.renewable).lower()},"
        f" num_uses: {grant.num_uses or 'unlimited'},"
        f" max_sessions_per_subject: {grant.max_sessions_per_subject or '-'}"
    )
    if acl_hcl is None:
        click.echo("  per-session ACL: none")
        return
    click.echo("  per-session ACL (policy sluice-session-<session id>, deleted at session end):")
    for line in acl_hcl.rstrip("\n").splitlines():
        click.echo(f"    {line}")


def _issuer(settings: Settings, ref: str) -> claims.IssuerConfig:
    for cfg in settings.issuers:
        if ref in (cfg.name, cfg.issuer):
            return cfg
    names = ", ".join(cfg.name for cfg in settings.issuers)
    raise click.UsageError(f"issuer {ref!r} is not configured (configured: {names})")


def _claims_from(path: Path) -> dict[str, Any]:
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"{path}: not a readable JSON file ({type(exc).__name__})") from exc
    if not isinstance(body, dict):
        raise click.UsageError(f"{path}: claims must be a JSON object")
    return body


def _token_text(token: str | None, token_file: Path | None) -> str:
    if token_file is not None:
        try:
            return token_file.read_text().strip()
        except OSError as exc:
            raise click.UsageError(f"{token_file}: cannot read ({exc.strerror})") from exc
    assert token is not None
    return sys.stdin.read().strip() if token == "-" else token.strip()


async def _verify(
    settings: Settings, jwt_text: str, wanted: claims.IssuerConfig | None
) -> tuple[claims.IssuerConfig, claims.VerifiedClaims]:
    import aiohttp

    from broker.jwks import KeyCache

    parsed = claims.parse(jwt_text, settings.identity.max_token_bytes)
    head = parsed.routing()
    cfg = next((c for c in settings.issuers if c.issuer == head.issuer), None)
    if cfg is None or (wanted is not None and wanted.issuer != cfg.issuer):
        raise errors.UnknownIssuer()
    claims.check_algorithm(head.alg, cfg)
    async with aiohttp.ClientSession() as http:
        keys = KeyCache(http, time.time, settings.http_timeout_s, settings.jwks_min_refresh_s)
        key = await keys.key_for(cfg, head.kid, head.alg)
    return cfg, claims.verify_parsed(parsed, key, cfg, time.time())
