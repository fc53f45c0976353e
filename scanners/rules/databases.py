"""Database and service connection strings with embedded credentials.

The password is the secret (not the whole URL), so a redacted log line still shows which
database was meant. Placeholder passwords (`${DB_PASSWORD}`, `<password>`, `changeme`) and
well-known defaults (`postgres:postgres@`) are filtered out.
"""

from __future__ import annotations

from scanners.filters import COMMON_WORDS
from scanners.rule import Rule

# user:password@ after the scheme; the password ends at the first '@' (others must be %40).
_CREDS = r"://[^\s:/?#@'\"`]{0,128}:(?P<secret>[^\s@/'\"`]{%d,256})@[^\s/'\"`]{1,255}"
_D = ("provider", "database")


def _not_default(password: str) -> bool:
    return password.lower() not in COMMON_WORDS


def _url(id: str, description: str, schemes: str, keywords: tuple[str, ...],
         min_length: int = 1) -> Rule:
    return Rule(id=id, description=description, pattern=rf"\b(?:{schemes})" + _CREDS % min_length,
                keywords=keywords, validate=_not_default, tags=_D)


RULES: tuple[Rule, ...] = (
    _url("postgres-url", "PostgreSQL URL with a password",
         r"postgres(?:ql)?(?:\+[a-z0-9]{1,20})?|pgsql", ("postgres", "pgsql")),
    _url("mysql-url", "MySQL/MariaDB URL with a password",
         r"mysql(?:x)?(?:\+[a-z0-9]{1,20})?|mariadb(?:\+[a-z0-9]{1,20})?", ("mysql", "mariadb")),
    _url("mongodb-url", "MongoDB URL with a password", r"mongodb(?:\+srv)?", ("mongodb",)),
    _url("redis-url", "Redis URL with a password", r"rediss?|redis\+sentinel", ("redis",)),
    _url("amqp-url", "AMQP (RabbitMQ) URL with a password", r"amqps?", ("amqp",)),
    _url("database-url", "Other database or broker URL with a password",
         r"mssql|sqlserver|oracle|cockroachdb|clickhouse|couchdbs?|neo4j(?:\+s)?|bolt|nats"
         r"|kafka|memcached|ldaps?|snowflake|cassandra|influxdb",
         ("mssql", "sqlserver", "oracle", "cockroachdb", "clickhouse", "couchdb", "neo4j",
          "bolt", "nats", "kafka", "memcached", "ldap", "snowflake", "cassandra", "influxdb")),
    _url("url-credentials", "HTTP, FTP, mail, git or SSH URL with a password",
         r"https?|ftps?|sftp|smtps?|imaps?|pop3s?|git|svn|ssh|wss?", ("://",),
         # Web URLs in docs carry toy credentials (`https://abc:xyz@`); real ones are longer.
         min_length=6),
    Rule(
        id="jdbc-password",
        description="JDBC URL with a password parameter",
        pattern=r"\bjdbc:[a-z0-9]{2,20}:[^\s'\"`]{0,300}?[;?&:](?i:password)="
        r"(?P<secret>[^\s;&'\"`]{1,256})",
        keywords=("jdbc:",), validate=_not_default, tags=_D,
    ),
    Rule(
        id="adonet-password",
        description="ADO.NET / ODBC connection string with a password",
        pattern=r"(?i:(?:server|data source|host|dsn|driver)=)[^;'\"\n]{1,200};[^'\"\n]{0,300}?"
        r"(?i:password|pwd)=(?P<secret>[^;'\"\n]{1,256})",
        keywords=("password=", "pwd="), validate=_not_default, tags=_D,
    ),
)
