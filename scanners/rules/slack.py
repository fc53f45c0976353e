"""Slack: bot, user, app and configuration tokens; incoming and workflow webhook URLs."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import prefixed


def _slack(id: str, description: str, body: str, keywords: tuple[str, ...]) -> Rule:
    return prefixed(id, description, body, keywords, tags=("slack",))


RULES: tuple[Rule, ...] = (
    _slack("slack-bot-token", "Slack bot token",
           r"xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24}", ("xoxb-",)),
    _slack("slack-user-token", "Slack user token",
           r"xoxp-[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[0-9a-f]{32}", ("xoxp-",)),
    _slack("slack-app-token", "Slack app-level token",
           r"xapp-[0-9]-[A-Z0-9]{9,11}-[0-9]{10,13}-[a-f0-9]{64}", ("xapp-",)),
    _slack("slack-config-access-token", "Slack app configuration access token",
           r"xoxe\.xox[bp]-[0-9]-[A-Z0-9]{163,166}", ("xoxe.xox",)),
    _slack("slack-config-refresh-token", "Slack app configuration refresh token",
           r"xoxe-[0-9]-[A-Z0-9]{146}", ("xoxe-",)),
    _slack("slack-legacy-token", "Slack legacy workspace, refresh or session token",
           r"xox[aors]-(?:[0-9]{1,13}-){1,3}[0-9A-Za-z]{8,48}",
           ("xoxa-", "xoxo-", "xoxr-", "xoxs-")),
    _slack("slack-webhook-url", "Slack incoming webhook URL",
           r"https://hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24}",
           ("hooks.slack.com",)),
    _slack("slack-workflow-webhook-url", "Slack workflow or trigger webhook URL",
           r"https://hooks\.slack\.com/(?:workflows|triggers)/T[A-Z0-9]{8,12}/A[A-Z0-9]{8,12}"
           r"/[0-9]{17,20}/[A-Za-z0-9]{32}", ("hooks.slack.com",)),
)
