"""Messaging and e-mail rules: prefixed keys, webhook URLs, context-bound hex secrets."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import (
    ALNUM,
    DIGITS,
    HEX,
    LOWER_ALNUM,
    URLSAFE,
    Case,
    b64url,
    check,
    params,
    synth,
)

UUID = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"
SK = "SK" + synth(HEX, 32, "twsk")
AC = "AC" + synth(HEX, 32, "twac")
TW_TOKEN = synth(HEX, 32, "twtoken")
SG = "SG." + synth(URLSAFE, 22, "sg1") + "." + synth(URLSAFE, 43, "sg2")
MG = "key-" + synth(HEX, 32, "mg")
MG_PRIVATE = synth(HEX, 32, "mgp1") + "-" + synth(HEX, 8, "mgp2") + "-" + synth(HEX, 8, "mgp3")
MC = synth(HEX, 32, "mc") + "-us21"
MANDRILL = synth(URLSAFE, 22, "mandrill")
BOT_ID = "1" + synth(DIGITS, 17, "discord-id")
DISCORD = b64url(BOT_ID.encode()) + "." + synth(URLSAFE, 6, "d2") + "." + synth(URLSAFE, 38, "d3")
NOT_ID = b64url(b"notanumericid1234x")
DISCORD_HOOK = ("https://discord.com/api/webhooks/" + BOT_ID + "/" + synth(URLSAFE, 68, "dh"))
TELEGRAM = "7" + synth(DIGITS, 9, "tg1") + ":AA" + synth(URLSAFE, 33, "tg2")
TEAMS = (f"https://acme.webhook.office.com/webhookb2/{UUID}@{UUID}/IncomingWebhook/"
         f"{synth(HEX, 32, 'teams')}/{UUID}")
BREVO = "xkeysib-" + synth(HEX, 64, "brevo") + "-" + synth(ALNUM, 16, "brevo2")
BIRD = synth(ALNUM, 25, "bird")
VONAGE = synth(ALNUM, 16, "vonage")
PUSHER = synth(HEX, 20, "pusher")
MATTERMOST = synth(LOWER_ALNUM, 26, "mattermost")

CASES: list[Case] = [
    ("twilio-api-key-sid", f"TWILIO_API_KEY={SK}", SK),
    ("twilio-api-key-sid", f"STRIPE_KEY={SK}", None),
    ("twilio-account-sid", f"TWILIO_ACCOUNT_SID={AC}", AC),
    ("twilio-account-sid", f"TWILIO_ACCOUNT_SID={AC[:-1]}", None),
    ("twilio-auth-token", f"TWILIO_AUTH_TOKEN={TW_TOKEN}", TW_TOKEN),
    ("twilio-auth-token", f"TWILIO_AUTH_TOKEN={TW_TOKEN}0", None),
    ("twilio-auth-token", f"commit {TW_TOKEN}", None),
    ("twilio-basic-auth-url", f"https://{AC}:{TW_TOKEN}@api.twilio.com/2010-04-01", TW_TOKEN),
    ("twilio-basic-auth-url", f"https://{AC}:{TW_TOKEN}@api.example.com/", None),
    ("sendgrid-api-key", f"SENDGRID_API_KEY={SG}", SG),
    ("sendgrid-api-key",
     "SENDGRID_API_KEY=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",
     None),
    ("mailgun-api-key", f"api:{MG}@api.mailgun.net", MG),
    ("mailgun-api-key", "MAILGUN_API_KEY=key-3ax6xnjp29jd6fds4gc373sgvjxteol0", None),
    ("mailgun-private-key", f"MAILGUN_API_KEY={MG_PRIVATE}", MG_PRIVATE),
    ("mailgun-private-key", f"MAILGUN_DOMAIN={MG_PRIVATE}", None),
    ("mailchimp-api-key", f"MAILCHIMP_KEY={MC}", MC),
    ("mailchimp-api-key", f"MAILCHIMP_KEY={MC[:20]}-us21", None),
    ("mandrill-api-key", f"MANDRILL_API_KEY={MANDRILL}", MANDRILL),
    ("mandrill-api-key", f"MANDRILL_TEMPLATE={MANDRILL}", None),
    ("discord-bot-token", f"DISCORD_BOT_TOKEN={DISCORD}", DISCORD),
    ("discord-bot-token", f"Authorization: Bot {DISCORD}", DISCORD),
    ("discord-bot-token", f"DISCORD_BOT_TOKEN=N{NOT_ID[1:]}.{DISCORD.split('.', 1)[1]}", None),
    ("discord-bot-token", f"session={DISCORD}", None),
    ("discord-webhook-url", f"webhook_url = '{DISCORD_HOOK}'", DISCORD_HOOK),
    ("discord-webhook-url", "webhook_url = 'https://discord.com/api/webhooks/123/abc'", None),
    ("telegram-bot-token", f"https://api.telegram.org/bot{TELEGRAM}/sendMessage", TELEGRAM),
    ("telegram-bot-token", f"TELEGRAM_TOKEN={TELEGRAM[:-3]}", None),
    ("teams-incoming-webhook-url", f"TEAMS_WEBHOOK={TEAMS}", TEAMS),
    ("teams-incoming-webhook-url",
     "https://acme.webhook.office.com/webhookb2/<id>/IncomingWebhook/<key>/<owner>", None),
    ("brevo-api-key", f"BREVO_API_KEY={BREVO}", BREVO),
    ("brevo-api-key", f"BREVO_API_KEY={BREVO[:-6]}", None),
    ("postmark-server-token", f"X-Postmark-Server-Token: {UUID}", UUID),
    ("postmark-server-token", f"X-Request-Id: {UUID}", None),
    ("messagebird-api-key", f"MESSAGEBIRD_API_KEY={BIRD}", BIRD),
    ("messagebird-api-key", "MESSAGEBIRD_API_KEY=your_messagebird_key", None),
    ("vonage-api-secret", f"VONAGE_API_SECRET={VONAGE}", VONAGE),
    ("vonage-api-secret", f"VONAGE_API_KEY={VONAGE}", None),
    ("pusher-app-secret", f"PUSHER_APP_SECRET={PUSHER}", PUSHER),
    ("pusher-app-secret", f"PUSHER_APP_KEY={PUSHER}", None),
    ("mattermost-access-token", f"MATTERMOST_TOKEN={MATTERMOST}", MATTERMOST),
    ("mattermost-access-token", f"MATTERMOST_URL={MATTERMOST}", None),
]


@params(CASES)
def test_messaging_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each messaging rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
