"""Messaging and e-mail: Twilio, SendGrid, Mailgun, Mailchimp, Discord, Telegram, Teams, ..."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import keyed, prefixed
from scanners.structures import is_discord_bot_token

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_DISCORD = r"[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}"

RULES: tuple[Rule, ...] = (
    keyed("twilio-api-key-sid", "Twilio API key SID next to a Twilio key name",
          r"twilio[_.-]?(?:api[_.-]?)?(?:key|sid)", r"SK[0-9a-f]{32}", ("twilio",),
          tags=("twilio",)),
    keyed("twilio-account-sid", "Twilio account SID next to a Twilio key name",
          r"twilio[_.-]?account[_.-]?sid", r"AC[0-9a-f]{32}", ("twilio",), tags=("twilio",)),
    keyed("twilio-auth-token", "Twilio auth token or API secret next to a Twilio key name",
          r"twilio[_.-]?(?:auth[_.-]?token|api[_.-]?secret|secret)", r"[0-9a-f]{32}",
          ("twilio",), tags=("twilio",)),
    prefixed("twilio-basic-auth-url", "Twilio credentials in an API URL",
             r"[0-9a-f]{32}", ("twilio.com",), start=r"\bAC[0-9a-f]{32}:",
             end=r"@[a-z.-]{0,40}twilio\.com", tags=("twilio",)),
    prefixed("sendgrid-api-key", "SendGrid API key",
             r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", ("sg.",), tags=("sendgrid",)),
    prefixed("mailgun-api-key", "Mailgun API key (key-)", r"key-[0-9a-f]{32}", ("key-",),
             tags=("mailgun",)),
    keyed("mailgun-private-key", "Mailgun private API key next to a Mailgun key name",
          r"mailgun[_.-]?(?:private[_.-]?|api[_.-]?)?key", r"[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}",
          ("mailgun",), tags=("mailgun",)),
    prefixed("mailchimp-api-key", "Mailchimp API key", r"[0-9a-f]{32}-us[0-9]{1,2}", ("-us",),
             tags=("mailchimp",)),
    keyed("mandrill-api-key", "Mandrill API key next to its key name",
          r"mandrill[_.-]?(?:api[_.-]?)?key", r"(?:md-)?[A-Za-z0-9_-]{22}", ("mandrill",),
          min_entropy=3.5, tags=("mailchimp",)),
    keyed("discord-bot-token", "Discord bot token next to a bot-token name or Bot scheme",
          r"discord[a-z_.-]{0,12}token|bot[_.-]?token|authorization:\s{0,2}bot", _DISCORD,
          ("discord", "bot"), validate=is_discord_bot_token, tags=("discord",)),
    prefixed("discord-webhook-url", "Discord webhook URL",
             r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}"
             r"/[A-Za-z0-9_-]{60,68}", ("discord.com/api/webhooks", "discordapp.com/api/webhooks"),
             tags=("discord",)),
    prefixed("telegram-bot-token", "Telegram bot token", r"[0-9]{8,10}:AA[0-9A-Za-z_-]{33}",
             (":aa",), start=r"(?:\b|bot)", tags=("telegram",)),
    prefixed("teams-incoming-webhook-url", "Microsoft Teams incoming webhook URL",
             rf"https://[a-z0-9-]{{1,64}}\.webhook\.office\.com/webhookb2/{_UUID}@{_UUID}"
             rf"/IncomingWebhook/[0-9a-f]{{32}}/{_UUID}", ("webhook.office.com",),
             tags=("teams",)),
    prefixed("brevo-api-key", "Brevo (Sendinblue) API or SMTP key",
             r"x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}", ("xkeysib-", "xsmtpsib-"),
             tags=("brevo",)),
    keyed("postmark-server-token", "Postmark server or account token next to its key name",
          r"postmark[_.-]?(?:server[_.-]?|api[_.-]?|account[_.-]?)?token"
          r"|x-postmark-(?:server|account)-token", _UUID, ("postmark",), tags=("postmark",)),
    keyed("messagebird-api-key", "MessageBird API key next to its key name",
          r"message_?bird[_.-]?(?:api[_.-]?)?key", r"[A-Za-z0-9]{25}",
          ("messagebird", "message_bird"), min_entropy=3.5, tags=("messagebird",)),
    keyed("vonage-api-secret", "Vonage (Nexmo) API secret next to its key name",
          r"(?:vonage|nexmo)[_.-]?api[_.-]?secret", r"[A-Za-z0-9]{16}", ("vonage", "nexmo"),
          min_entropy=3.0, tags=("vonage",)),
    keyed("pusher-app-secret", "Pusher Channels app secret next to its key name",
          r"pusher[_.-]?(?:app[_.-]?)?secret", r"[0-9a-f]{20}", ("pusher",), tags=("pusher",)),
    keyed("mattermost-access-token", "Mattermost personal access token next to its key name",
          r"mattermost[_.-]?(?:access[_.-]?|personal[_.-]?)?token", r"[a-z0-9]{26}",
          ("mattermost",), min_entropy=3.5, tags=("mattermost",)),
)
