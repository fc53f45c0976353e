"""A small, self-contained rule set for engine and redactor tests (the catalogue has its own)."""

from __future__ import annotations

from scanners.rule import Rule

END = r"(?:[^A-Za-z0-9_-]|$)"

GITHUB = Rule(
    id="test-github-pat",
    description="GitHub classic token",
    pattern=r"\b(?P<secret>ghp_[A-Za-z0-9]{36})" + END,
    keywords=("ghp_",),
    tags=("provider",),
)
SLACK = Rule(
    id="test-slack-bot",
    description="Slack bot token",
    pattern=r"\b(?P<secret>xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24})" + END,
    keywords=("xoxb-",),
    tags=("provider",),
)
PASSWORD = Rule(
    id="test-generic-password",
    description="password assigned a value",
    pattern=r"""(?i:password|passwd|secret)["']?\s{0,3}[:=]\s{0,3}["']?(?P<secret>[^\s"',;]{8,64})""",
    keywords=("password", "passwd", "secret"),
    min_entropy=2.5,
    tags=("generic",),
)
PEM = Rule(
    id="test-private-key",
    description="PEM private key",
    pattern=r"-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----[A-Za-z0-9+/=\s]{40,8192}?"
    r"-----END (?:RSA |EC |OPENSSH )?PRIVATE KEY-----",
    keywords=("-----begin",),
    multiline=True,
    skip_filters=True,
)
RULES = (GITHUB, SLACK, PASSWORD, PEM)

GH_TOKEN = "ghp_R3xT9qLm2VbN8cZk4WjH7pD1sF6gY0aE5uKi"
SLACK_TOKEN = "xoxb-2817364509-7730158842-Qm9vXr4TbLk2NwZs8YcJd3Hf"
PASSWORD_VALUE = "Zq8v-Lp2w.Xr9k"
PEM_BLOCK = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo\n"
    "-----END RSA PRIVATE KEY-----\n"
)
LOG = (
    '{"ts":"2026-11-24T01:02:03Z","level":"info","msg":"request ok","path":"/v1/health"}\n'
    f"export GITHUB_TOKEN={GH_TOKEN}\n"
    "2026-11-24 01:02:04 INFO worker started pid=4242 sha=3f786850e387550fdab836ed7e6dc881de23001b\n"
    f'{{"level":"debug","cfg":{{"db_password":"{PASSWORD_VALUE}","slack":"{SLACK_TOKEN}"}}}}\n'
    "loading key from vault\n"
    + PEM_BLOCK
    + "password = changeme\n"
    "done in 12ms, user=ci request_id=7f1c1b9e-6a3d-4a39-9f0e-2b8c7d6e5f40\n"
)
