"""Slack rules: token kinds by prefix and shape, webhook URLs."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import (
    ALNUM,
    DIGITS,
    HEX,
    UPPER_ALNUM,
    Case,
    check,
    params,
    synth,
)


def num(n: int, salt: str) -> str:
    return "7" + synth(DIGITS, n - 1, salt)


XOXB = f"xoxb-{num(12, 'b1')}-{num(13, 'b2')}-{synth(ALNUM, 24, 'b3')}"
XOXP = f"xoxp-{num(12, 'p1')}-{num(12, 'p2')}-{num(13, 'p3')}-{synth(HEX, 32, 'p4')}"
XAPP = f"xapp-1-A{synth(UPPER_ALNUM, 10, 'a1')}-{num(13, 'a2')}-{synth(HEX, 64, 'a3')}"
XOXE_ACCESS = "xoxe.xoxp-1-" + synth(UPPER_ALNUM, 164, "xa")
XOXE_REFRESH = "xoxe-1-" + synth(UPPER_ALNUM, 146, "xr")
XOXS = f"xoxs-{num(11, 's1')}-{num(12, 's2')}-{synth(ALNUM, 32, 's3')}"
HOOK = ("https://hooks.slack.com/services/T" + synth(UPPER_ALNUM, 8, "t") + "/B"
        + synth(UPPER_ALNUM, 10, "b") + "/" + synth(ALNUM, 24, "h"))
FLOW = ("https://hooks.slack.com/workflows/T" + synth(UPPER_ALNUM, 8, "wt") + "/A"
        + synth(UPPER_ALNUM, 10, "wa") + "/" + num(18, "wn") + "/" + synth(ALNUM, 32, "wh"))

CASES: list[Case] = [
    ("slack-bot-token", f"SLACK_BOT_TOKEN={XOXB}", XOXB),
    ("slack-bot-token", "SLACK_BOT_TOKEN=xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
     None),
    ("slack-bot-token", f"SLACK_BOT_TOKEN={XOXB[:-2]}", None),
    ("slack-user-token", f"token: {XOXP}", XOXP),
    ("slack-user-token", f"token: {XOXP[:-5]}", None),
    ("slack-app-token", f"SLACK_APP_TOKEN={XAPP}", XAPP),
    ("slack-app-token", "SLACK_APP_TOKEN=xapp-1-A000-0-abc", None),
    ("slack-config-access-token", f"token={XOXE_ACCESS}", XOXE_ACCESS),
    ("slack-config-access-token", f"token={XOXE_ACCESS[:100]}", None),
    ("slack-config-refresh-token", f"refresh_token={XOXE_REFRESH}", XOXE_REFRESH),
    ("slack-config-refresh-token", f"refresh_token={XOXE_REFRESH[:90]}", None),
    ("slack-legacy-token", f"SLACK_TOKEN={XOXS}", XOXS),
    ("slack-legacy-token", "SLACK_TOKEN=xoxs-...", None),
    ("slack-webhook-url", f"curl -X POST {HOOK} -d @msg.json", HOOK),
    ("slack-webhook-url", "webhook: https://hooks.slack.com/services/T000/B000/XXXX", None),
    ("slack-workflow-webhook-url", f'"url": "{FLOW}"', FLOW),
    ("slack-workflow-webhook-url", f'"url": "{FLOW[:-8]}"', None),
]


@params(CASES)
def test_slack_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each Slack rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
