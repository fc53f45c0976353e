"""`sluice broker audit-verify FILE`: check an audit log's hash chain.

Exit codes: 0 the chain verifies, 1 tampering found (the first bad line is printed),
2 the file cannot be read.
"""

from __future__ import annotations

import click

from broker.audit import verify_audit


@click.command("audit-verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--expect-head",
    metavar="SHA256",
    default=None,
    help="Digest of the last record, kept elsewhere; catches records appended after it.",
)
def audit_verify(file: str, expect_head: str | None) -> None:
    """Verify the audit log FILE and name the first bad line."""
    try:
        result = verify_audit(file, expected_head=expect_head)
    except OSError as exc:
        click.echo(f"{file}: cannot read: {exc.strerror or exc}", err=True)
        raise SystemExit(2) from exc
    if result.ok:
        click.echo(f"{file}: {result.describe()}")
        return
    click.echo(f"{file}: tampered: {result.describe()}", err=True)
    raise SystemExit(1)
