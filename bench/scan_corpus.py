"""A labelled corpus for the scanner benchmark: realistic text, real-format secrets, decoys.

Secrets follow their providers' published formats (prefixes, lengths, alphabets, and the CRC32
checksums GitHub and npm tokens carry); private keys and JWTs are real ones made on the spot.
Decoys are what makes logs noisy for secret scanners: UUIDs, digests, git SHAs, base64 blobs,
public IPs, placeholders, template variables and the example keys providers print in their docs.
Every secret is labelled with (file, line, value); nothing else in the corpus is a secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ALNUM = string.ascii_letters + string.digits
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Label:
    file: str
    line: int  # 1-based line where the secret starts
    value: str
    kind: str


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self._keys: list[str] = []

    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def crc_token(self, prefix: str) -> str:
        body = self.s(ALNUM, 30)
        crc = zlib.crc32(body.encode())
        digits = ""
        while crc:
            crc, rest = divmod(crc, 62)
            digits = B62[rest] + digits
        return prefix + body + digits.rjust(6, "0")

    def b64url_json(self, obj: object) -> str:
        return (
            base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode())
            .decode()
            .rstrip("=")
        )

    # -- real-format secrets: name -> (value, key name used in assignments) ----------------------

    def secrets(self) -> dict[str, Callable[[], tuple[str, str]]]:
        s = self.s
        return {
            "aws-key-id": lambda: (
                "AKIA" + s("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
                "AWS_ACCESS_KEY_ID",
            ),
            "aws-secret": lambda: (s(ALNUM + "+/", 40), "AWS_SECRET_ACCESS_KEY"),
            "github-classic": lambda: (
                self.crc_token(self.r.choice(["ghp_", "gho_", "ghs_"])),
                "GITHUB_TOKEN",
            ),
            "github-fine-grained": lambda: (
                "github_pat_" + s(ALNUM, 22) + "_" + s(ALNUM, 59),
                "GH_TOKEN",
            ),
            "gitlab-pat": lambda: ("glpat-" + s(URLSAFE, 20), "GITLAB_TOKEN"),
            "gitlab-runner": lambda: ("glrt-" + s(URLSAFE, 20), "CI_RUNNER_TOKEN"),
            "slack-bot": lambda: (
                f"xoxb-{s(string.digits, 11)}-{s(string.digits, 13)}-{s(ALNUM, 24)}",
                "SLACK_BOT_TOKEN",
            ),
            "slack-user": lambda: (
                f"xoxp-{s(string.digits, 11)}-{s(string.digits, 11)}-{s(string.digits, 13)}-{s(HEX, 32)}",
                "SLACK_TOKEN",
            ),
            "slack-webhook": lambda: (
                f"https://hooks.slack.com/services/T{s(string.ascii_uppercase + string.digits, 10)}/B{s(string.ascii_uppercase + string.digits, 10)}/{s(ALNUM, 24)}",
                "SLACK_WEBHOOK_URL",
            ),
            "stripe-live": lambda: (
                "sk_live_" + s(ALNUM, self.r.choice([24, 99])),
                "STRIPE_SECRET_KEY",
            ),
            "stripe-restricted": lambda: ("rk_live_" + s(ALNUM, 99), "STRIPE_KEY"),
            "sendgrid": lambda: ("SG." + s(URLSAFE, 22) + "." + s(URLSAFE, 43), "SENDGRID_API_KEY"),
            "twilio-key-sid": lambda: ("SK" + s(HEX, 32), "TWILIO_API_KEY"),
            "twilio-auth": lambda: (s(HEX, 32), "TWILIO_AUTH_TOKEN"),
            "mailgun": lambda: ("key-" + s(HEX, 32), "MAILGUN_API_KEY"),
            "telegram": lambda: (
                f"{s(string.digits, 10)}:AA{s(URLSAFE, 33)}",
                "TELEGRAM_BOT_TOKEN",
            ),
            "discord-bot": lambda: (
                self.r.choice("MNO") + s(ALNUM, 25) + "." + s(URLSAFE, 6) + "." + s(URLSAFE, 38),
                "DISCORD_BOT_TOKEN",
            ),
            "openai-project": lambda: (
                "sk-proj-" + s(URLSAFE, 74) + "T3BlbkFJ" + s(URLSAFE, 74),
                "OPENAI_API_KEY",
            ),
            "anthropic": lambda: ("sk-ant-api03-" + s(URLSAFE, 93) + "AA", "ANTHROPIC_API_KEY"),
            "huggingface": lambda: ("hf_" + s(string.ascii_letters, 34), "HF_TOKEN"),
            "groq": lambda: ("gsk_" + s(ALNUM, 52), "GROQ_API_KEY"),
            "replicate": lambda: ("r8_" + s(ALNUM, 37), "REPLICATE_API_TOKEN"),
            "datadog-api": lambda: (s(HEX, 32), "DD_API_KEY"),
            "newrelic-user": lambda: (
                "NRAK-" + s(string.ascii_uppercase + string.digits, 27),
                "NEW_RELIC_API_KEY",
            ),
            "sentry-dsn": lambda: (s(HEX, 32), "SENTRY_DSN"),
            "shopify": lambda: ("shpat_" + s(HEX, 32), "SHOPIFY_TOKEN"),
            "atlassian": lambda: ("ATATT3" + s(URLSAFE, 186), "JIRA_API_TOKEN"),
            "heroku": lambda: ("HRKU-AA" + s(URLSAFE, 58), "HEROKU_API_KEY"),
            "digitalocean": lambda: ("dop_v1_" + s(HEX, 64), "DIGITALOCEAN_TOKEN"),
            "databricks": lambda: ("dapi" + s(HEX, 32), "DATABRICKS_TOKEN"),
            "vault-service": lambda: ("hvs.CAESI" + s(URLSAFE, 86), "VAULT_TOKEN"),
            "openbao-service": lambda: ("s." + s(ALNUM, 24), "VAULT_TOKEN"),
            "openbao-batch": lambda: ("b.AAAAAQ" + s(URLSAFE, 146), "BAO_TOKEN"),
            "npm": lambda: (self.crc_token("npm_"), "NPM_TOKEN"),
            "pypi": lambda: ("pypi-AgEIcHlwaS5vcmc" + s(URLSAFE, 160), "PYPI_API_TOKEN"),
            "dockerhub": lambda: ("dckr_pat_" + s(URLSAFE, 27), "DOCKERHUB_TOKEN"),
            "rubygems": lambda: ("rubygems_" + s(HEX, 48), "GEM_HOST_API_KEY"),
            "nuget": lambda: (
                "oy2" + s(string.ascii_lowercase + string.digits, 43),
                "NUGET_API_KEY",
            ),
            "square": lambda: ("sq0atp-" + s(URLSAFE, 22), "SQUARE_ACCESS_TOKEN"),
            "gcp-api-key": lambda: ("AIza" + s(URLSAFE, 35), "GOOGLE_API_KEY"),
            "azure-storage": lambda: (s(ALNUM + "+/", 86) + "==", "AZURE_STORAGE_KEY"),
            "linear": lambda: ("lin_api_" + s(ALNUM, 40), "LINEAR_API_KEY"),
            "figma": lambda: ("figd_" + s(URLSAFE, 40), "FIGMA_TOKEN"),
            "postman": lambda: ("PMAK-" + s(HEX, 24) + "-" + s(HEX, 34), "POSTMAN_API_KEY"),
            "tailscale": lambda: (
                "tskey-auth-k" + s(ALNUM, 11) + "CNTRL-" + s(ALNUM, 33),
                "TS_AUTHKEY",
            ),
            "doppler": lambda: ("dp.st.prd." + s(ALNUM, 40), "DOPPLER_TOKEN"),
            "pulumi": lambda: ("pul-" + s(HEX, 40), "PULUMI_ACCESS_TOKEN"),
            "grafana-sa": lambda: ("glsa_" + s(ALNUM, 32) + "_" + s(HEX, 8), "GRAFANA_TOKEN"),
            "age": lambda: (
                "AGE-SECRET-KEY-1" + s("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58),
                "SOPS_AGE_KEY",
            ),
            "jwt": lambda: (self.jwt(), "ID_TOKEN"),
            "bearer": lambda: (s(URLSAFE, 48), "Authorization"),
            "postgres-password": lambda: (s(ALNUM, 20), "DATABASE_URL"),
            "mysql-password": lambda: (s(ALNUM + "!*", 18), "MYSQL_URL"),
            "redis-password": lambda: (s(ALNUM, 32), "REDIS_URL"),
            "generic-password": lambda: (s(ALNUM + "!#%+", 18), "DB_PASSWORD"),
            "generic-secret": lambda: (s(ALNUM, 40), "CLIENT_SECRET"),
            "cli-password": lambda: (s(ALNUM + "#%+", 16), "--password"),
            "human-password": lambda: (self.human_password(), "DB_PASSWORD"),
        }

    def human_password(self) -> str:
        """Passwords people choose: a word, digits, a symbol (low entropy, still secrets)."""
        word = self.r.choice(["Falcon", "Winter", "Orchid", "Granite", "Harbor", "Maple", "Tundra"])
        return f"{word}{self.r.choice('#!@$%')}{self.r.randrange(100, 99999)}{self.r.choice(['', 'x', 'Q'])}"

    def jwt(self) -> str:
        header = self.b64url_json({"alg": "RS256", "kid": self.s(HEX, 16), "typ": "JWT"})
        payload = self.b64url_json(
            {
                "iss": "https://token.actions.githubusercontent.com",
                "sub": "repo:acme/app:ref:refs/heads/main",
                "aud": "sluice",
                "exp": 1_790_000_000 + self.r.randrange(10**6),
                "jti": str(uuid.UUID(int=self.r.getrandbits(128))),
            }
        )
        return f"{header}.{payload}.{self.s(URLSAFE, 342)}"

    def pem(self) -> str:
        kind = self.r.choice(["rsa", "ec", "openssh", "pkcs8"])
        if kind == "rsa":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            fmt = serialization.PrivateFormat.TraditionalOpenSSL
        elif kind == "ec":
            key = ec.generate_private_key(ec.SECP256R1())  # type: ignore[assignment]
            fmt = serialization.PrivateFormat.TraditionalOpenSSL
        elif kind == "openssh":
            key = ed25519.Ed25519PrivateKey.generate()  # type: ignore[assignment]
            fmt = serialization.PrivateFormat.OpenSSH
        else:
            key = ec.generate_private_key(ec.SECP384R1())  # type: ignore[assignment]
            fmt = serialization.PrivateFormat.PKCS8
        return key.private_bytes(
            serialization.Encoding.PEM, fmt, serialization.NoEncryption()
        ).decode()

    # -- decoys ------------------------------------------------------------------------------

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def sha(self, n: int = 40) -> str:
        return (
            hashlib.sha256(self.s(ALNUM, 12).encode()).hexdigest()[:n]
            if n <= 64
            else self.s(HEX, n)
        )

    def blob(self) -> str:
        return base64.b64encode(self.r.randbytes(self.r.randrange(24, 180))).decode()

    def ip(self) -> str:
        return f"{self.r.choice([34, 35, 52, 104, 151, 185])}.{self.r.randrange(256)}.{self.r.randrange(256)}.{self.r.randrange(1, 255)}"

    def decoy(self, *, keyworded: bool | None = None) -> str:
        """A non-secret that scanners trip on. `keyworded` picks from the decoys that sit next
        to a secret-ish key name (placeholders, examples) or from the plain noise (ids,
        digests, blobs, addresses); None picks from both."""
        r = self.r
        neutral = self._NEUTRAL
        options = [
            lambda: f'"request_id":"{self.uuid()}"',
            lambda: f'"trace_id":"{self.s(HEX, 32)}","span_id":"{self.s(HEX, 16)}"',
            lambda: f'"commit":"{self.sha(40)}"',
            lambda: f'"image":"ghcr.io/acme/api@sha256:{self.sha(64)}"',
            lambda: f'"etag":"{self.sha(32)}"',
            lambda: f'"cursor":"{self.blob()}"',
            lambda: f'"remote_addr":"{self.ip()}"',
            lambda: '"password":"changeme"',
            lambda: '"api_key":"${API_KEY}"',
            lambda: '"token":"{{ .Values.auth.token }}"',
            lambda: '"secret":"<YOUR_SECRET_HERE>"',
            lambda: '"aws_access_key_id":"AKIAIOSFODNN7EXAMPLE"',
            lambda: '"aws_secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
            lambda: '"stripe_key":"sk_test_4eC39HqLyjWDarjtT1zdp7dc"',
            lambda: '"token_type":"Bearer","expires_in":3600',
            lambda: (
                f'"password_changed_at":"2026-0{r.randrange(1, 9)}-1{r.randrange(9)}T10:00:00Z"'
            ),
            lambda: '"secret_name":"db-credentials","secret_version":"7"',
            lambda: f'"checksum":"sha256:{self.sha(64)}"',
            lambda: f'"session":"{self.uuid()}"',
            lambda: '"auth":"oidc","token":"********"',
            lambda: f'"md5":"{self.sha(32)}"',
            lambda: '"password":"REDACTED"',
            lambda: f'"key":"user:{r.randrange(10**6)}:profile"',
            lambda: f'"token_sha256":"{self.sha(64)}"',
            lambda: '"secret_ref":"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"',
            lambda: '"authorization":"Bearer ${ACCESS_TOKEN}"',
            lambda: f'"csrf_token":"{self.uuid()}"',
            lambda: '"password":"********"',
            lambda: f'"api_key_id":{r.randrange(10**6)}',
            lambda: '"client_secret":"<client-secret>"',
            lambda: f'"secret_version":"projects/acme/secrets/db/versions/{r.randrange(50)}"',
            # structured names and templates that hold a secret word (appended: the indexes
            # above stay valid)
            lambda: f'"vault_path":"secret/data/prod/db-Creds{r.randrange(10)}"',
            lambda: (f'"secret_arn":"arn:aws:secretsmanager:eu-west-1:{r.randrange(10**11, 10**12)}'
                     f':secret:api/Token-{self.s(ALNUM, 6)}"'),
            lambda: f'"lock":"urn:acme:secret:rotation-Job{r.randrange(100)}"',
            lambda: '"dsn_template":"postgresql://{user}:{password}@{host}/app"',
        ]
        if keyworded is not None:
            options = [o for i, o in enumerate(options) if (i in neutral) != keyworded]
        return r.choice(options)()

    # indexes of the decoys above that carry no secret-ish key name
    _NEUTRAL = frozenset({0, 1, 2, 3, 4, 5, 6, 17, 18, 20})


# -- documents -------------------------------------------------------------------------------

MESSAGES = [
    "request completed",
    "cache miss",
    "connected to database",
    "retrying upstream call",
    "job finished",
    "user signed in",
    "rate limit applied",
    "config reloaded",
    "health check ok",
]


def json_log_line(g: Gen, ts: int, extra: str = "", *, keyword_decoys: float = 0.6) -> str:
    r = g.r
    fields = [
        f'"ts":"2026-11-24T{ts // 3600 % 24:02d}:{ts // 60 % 60:02d}:{ts % 60:02d}.{r.randrange(1000):03d}Z"',
        f'"level":"{r.choice(["info", "info", "info", "debug", "warn", "error"])}"',
        f'"msg":"{r.choice(MESSAGES)}"',
        f'"service":"{r.choice(["api", "worker", "billing", "auth"])}"',
        f'"latency_ms":{r.randrange(1, 900)}',
    ]
    roll = r.random()
    if roll < keyword_decoys:
        fields.append(g.decoy(keyworded=True) if keyword_decoys < 0.6 else g.decoy())
    elif roll < 0.6:
        fields.append(g.decoy(keyworded=False))
    if extra:
        fields.append(extra)
    return "{" + ",".join(fields) + "}"


def embed(g: Gen, kind: str, value: str, key: str, style: str) -> str:
    """One line carrying `value` the way that kind of secret shows up in that kind of text."""
    if kind == "sentry-dsn":
        return f'"sentry_dsn":"https://{value}@o{g.r.randrange(10**6)}.ingest.sentry.io/{g.r.randrange(10**7)}"'
    if kind == "postgres-password":
        return f'"database_url":"postgresql://app:{value}@db.internal:5432/app?sslmode=require"'
    if kind == "mysql-password":
        return f"mysql://root:{value}@10.0.3.7:3306/shop"
    if kind == "redis-password":
        return f"redis://:{value}@cache.internal:6379/0"
    if kind == "slack-webhook":
        return f'"webhook":"{value}"'
    if kind == "bearer":
        return f"Authorization: Bearer {value}"
    if kind == "cli-password":
        return f"mysql -h db -u admin --password '{value}' -e 'select 1'"
    if kind == "azure-storage":
        return f"DefaultEndpointsProtocol=https;AccountName=acme{g.r.randrange(100)};AccountKey={value};EndpointSuffix=core.windows.net"
    if style == "json":
        return f'"{key.lower()}":"{value}"'
    if style == "yaml":
        return f"{key.lower()}: {value}"
    if style == "env":
        return f"{key}={value}"
    return f"+ export {key}={value}"


def make_documents(
    seed: int, *, lines_per_file: int, files_per_kind: int
) -> tuple[dict[str, str], list[Label]]:
    """Files of JSON logs, CI output, tracebacks and config, with secrets sprinkled in."""
    g = Gen(seed)
    gens = g.secrets()
    kinds = sorted(gens)
    labels: list[Label] = []
    docs: dict[str, str] = {}
    counter = 0

    def secret_line(name: str, style: str) -> tuple[str, list[str]]:
        nonlocal counter
        kind = kinds[counter % len(kinds)]
        counter += 1
        value, key = gens[kind]()
        return embed(g, kind, value, key, style), [kind, value]

    for index in range(files_per_kind):
        for family in ("app.jsonl", "ci.log", "traceback.log", "settings.env", "values.yaml"):
            name = f"{family.split('.')[0]}-{index}.{family.split('.')[1]}"
            lines: list[str] = []
            style = {
                "app.jsonl": "json",
                "ci.log": "ci",
                "traceback.log": "ci",
                "settings.env": "env",
                "values.yaml": "yaml",
            }[family]
            while len(lines) < lines_per_file:
                roll = g.r.random()
                if roll < 0.035:
                    text, (kind, value) = secret_line(name, style)
                    if style == "json":
                        text = json_log_line(g, len(lines), text)
                    labels.append(Label(name, len(lines) + 1, value, kind))
                    lines.append(text)
                elif roll < 0.04 and style in ("ci", "env"):
                    pem = g.pem()
                    labels.append(Label(name, len(lines) + 1, pem.rstrip("\n"), "private-key"))
                    lines.extend(pem.rstrip("\n").split("\n"))
                else:
                    lines.append(filler(g, family, len(lines)))
            docs[name] = "\n".join(lines) + "\n"
    return docs, labels


def filler(g: Gen, family: str, n: int) -> str:
    r = g.r
    if family == "app.jsonl":
        return json_log_line(g, n)
    if family == "ci.log":
        return r.choice(
            [
                f"##[group]Run actions/checkout@v4 ({g.sha(40)})",
                f"Step {r.randrange(1, 30)}/30 : RUN pip install -r requirements.txt",
                f" ---> Using cache {g.sha(12)}",
                f"Successfully built {g.sha(12)}",
                f"Downloading https://files.pythonhosted.org/packages/{g.sha(2)}/{g.sha(2)}/{g.sha(60)}/pkg-1.{r.randrange(30)}.0-py3-none-any.whl",
                f"digest: sha256:{g.sha(64)} size: {r.randrange(500, 5000)}",
                f"PASSED tests/unit/test_{r.choice(['api', 'models', 'auth'])}.py::test_case_{r.randrange(500)}",
                "+ export VAULT_ADDR=https://vault.internal:8200",
                '+ echo "token: ${{ secrets.DEPLOY_TOKEN }}"',
                f"Cache restored from key: Linux-pip-{g.sha(64)}",
                f"request {g.uuid()} from {g.ip()} took {r.randrange(900)}ms",
            ]
        )
    if family == "traceback.log":
        return r.choice(
            [
                "Traceback (most recent call last):",
                f'  File "/app/service/{r.choice(["db", "http", "auth"])}.py", line {r.randrange(1, 400)}, in {r.choice(["connect", "fetch", "login"])}',
                '    raise ConnectionError(f"cannot reach {host}")',
                f"ConnectionError: cannot reach 10.0.{r.randrange(255)}.{r.randrange(255)}:5432",
                f"requests.exceptions.HTTPError: 503 Server Error for url: https://api.example.com/v2/items/{g.uuid()}",
                "During handling of the above exception, another exception occurred:",
                f"    self._sock = socket.create_connection(('{g.ip()}', 443), timeout=10)",
            ]
        )
    if family == "settings.env":
        return r.choice(
            [
                f"LOG_LEVEL={r.choice(['info', 'debug'])}",
                "DB_PASSWORD=${DB_PASSWORD}",
                "API_KEY=changeme",
                f"BUILD_SHA={g.sha(40)}",
                f"INSTANCE_ID={g.uuid()}",
                "SECRET_KEY=<generate-me>",
                f"CACHE_TTL_S={r.randrange(60, 3600)}",
                "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
                f"ARTIFACT_DIGEST=sha256:{g.sha(64)}",
                "TOKEN_TTL=1h",
                "PASSWORD_MIN_LENGTH=12",
            ]
        )
    return r.choice(
        [
            f"replicas: {r.randrange(1, 9)}",
            f'  tag: "{g.sha(12)}"',
            '  password: "{{ .Values.db.password }}"',
            f"  checksum/config: {g.sha(64)}",
            "  existingSecret: app-credentials",
            f"  podUID: {g.uuid()}",
            '  token: ""',
            f"  caBundle: {g.blob()}",
            "  apiKeySecretRef: datadog-api-key",
            "  secretKeyRef:",
            "    name: db-credentials",
            "    key: password",
        ]
    )


def make_log_stream(seed: int, size: int) -> bytes:
    """`size` bytes of mixed structured logs and CI output with ~1 secret per 2,000 lines.

    Noise as production logs carry it: most lines hold ids, digests, addresses or blobs, and
    about 2% hold a secret-ish key name with a harmless value (placeholders, `token_type`).

    A pool of ~8 MB of distinct lines is generated and tiled to reach `size`: the redactor keeps
    no state between lines, so repetition does not flatter it, and generation stays quick."""
    g = Gen(seed)
    gens = g.secrets()
    kinds = sorted(gens)
    pool: list[str] = []
    total = 0
    n = 0
    while total < min(size, 8 << 20):
        if g.r.random() < 0.0005:
            kind = kinds[n % len(kinds)]
            value, key = gens[kind]()
            line = json_log_line(g, n, embed(g, kind, value, key, "json"))
        elif g.r.random() < 0.7:
            line = json_log_line(g, n, keyword_decoys=0.02)
        else:
            line = filler(g, g.r.choice(["ci.log", "traceback.log"]), n)
        n += 1
        pool.append(line)
        total += len(line) + 1
    block = ("\n".join(pool) + "\n").encode()
    return (block * (size // len(block) + 1))[:size].rsplit(b"\n", 1)[0] + b"\n"
