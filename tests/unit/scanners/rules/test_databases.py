"""Connection-string rules: the password is the secret; placeholders and defaults are not."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import ALNUM, Case, check, params, synth

PW = synth(ALNUM, 20, "dbpw")
PW2 = synth(ALNUM, 16, "dbpw2") + "%40x"

CASES: list[Case] = [
    ("postgres-url", f"DATABASE_URL=postgres://app:{PW}@db.internal:5432/app", PW),
    ("postgres-url", f"postgresql+psycopg://app:{PW2}@10.0.0.5/app?sslmode=require", PW2),
    ("postgres-url", "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app", None),
    ("postgres-url", "DATABASE_URL=postgres://postgres:postgres@localhost/app", None),
    ("postgres-url", "DATABASE_URL=postgres://app@db.internal:5432/app", None),
    ("mysql-url", f"mysql://root:{PW}@127.0.0.1:3306/shop", PW),
    ("mysql-url", "mysql://root:<password>@127.0.0.1:3306/shop", None),
    ("mongodb-url", f'uri = "mongodb+srv://svc:{PW}@cluster0.ab1cd.mongodb.net/db"', PW),
    ("mongodb-url", 'uri = "mongodb+srv://svc:password@cluster0.ab1cd.mongodb.net/db"', None),
    ("redis-url", f"REDIS_URL=redis://:{PW}@cache:6379/0", PW),
    ("redis-url", "REDIS_URL=redis://cache:6379/0", None),
    ("amqp-url", f"BROKER_URL=amqp://worker:{PW}@rabbit:5672//", PW),
    ("amqp-url", "BROKER_URL=amqp://guest:guest@rabbit:5672//", None),
    ("database-url", f"sqlserver://sa:{PW}@mssql:1433?database=x", PW),
    ("database-url", "sqlserver://sa:********@mssql:1433", None),
    ("url-credentials", f"git clone https://deploy:{PW}@git.example.org/r.git", PW),
    ("url-credentials", f"proxy: http://proxyuser:{PW}@proxy.corp:3128", PW),
    ("url-credentials", "http://localhost:8080/path@foo", None),
    ("url-credentials", "https://user:pass@example.org/", None),
    ("jdbc-password", f"jdbc:sqlserver://db:1433;databaseName=x;user=sa;password={PW};", PW),
    ("jdbc-password", f"jdbc:mysql://db:3306/x?user=app&password={PW}&useSSL=true", PW),
    ("jdbc-password", "jdbc:mysql://db:3306/x?user=app&password=changeme", None),
    ("adonet-password", f"Server=tcp:db.example.net,1433;Database=x;User ID=app;Password={PW};",
     PW),
    ("adonet-password", f"Data Source=db;Initial Catalog=x;User Id=app;Pwd={PW}", PW),
    ("adonet-password", "Server=db;Database=x;User ID=app;Password={your_password};", None),
]


@params(CASES)
def test_database_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Connection strings report the embedded password, never placeholders or defaults."""
    check(rule_id, line, secret)
