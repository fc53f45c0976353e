"""GitLab rules: one prefix per token kind, exact body lengths."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import HEX, URLSAFE, Case, check, params, synth


def body(n: int, salt: str) -> str:
    return synth(URLSAFE, n, salt)


GLPAT = "glpat-" + body(20, "glpat")
GLPAT_NEW = "glpat-" + body(40, "glpat2") + ".01.1k2ab3c4d"
GLDT = "gldt-" + body(20, "gldt")
GLRT = "glrt-" + body(20, "glrt")
GR = "GR1348941" + body(20, "gr")
GLPTT = "glptt-" + synth(HEX, 40, "glptt")
GLFT = "glft-" + body(20, "glft")
GLIMT = "glimt-" + body(25, "glimt")
GLAGENT = "glagent-" + body(50, "glagent")
GLOAS = "gloas-" + body(64, "gloas")
GLCBT = "glcbt-64_" + body(20, "glcbt")
GLSOAT = "glsoat-" + body(20, "glsoat")
GLFFCT = "glffct-" + body(20, "glffct")
SESSION = synth(HEX, 32, "glsession")

CASES: list[Case] = [
    ("gitlab-personal-access-token", f"PRIVATE-TOKEN: {GLPAT}", GLPAT),
    ("gitlab-personal-access-token", f"GITLAB_TOKEN={GLPAT_NEW}", GLPAT_NEW),
    ("gitlab-personal-access-token", f"PRIVATE-TOKEN: {GLPAT[:-2]}", None),
    ("gitlab-personal-access-token", "PRIVATE-TOKEN: glpat-xxxxxxxxxxxxxxxxxxxx", None),
    ("gitlab-deploy-token", f"password: {GLDT}", GLDT),
    ("gitlab-deploy-token", f"password: {GLDT}aa", None),
    ("gitlab-runner-authentication-token", f'token = "{GLRT}"', GLRT),
    ("gitlab-runner-authentication-token", 'token = "glrt-REDACTED"', None),
    ("gitlab-runner-registration-token", f"--registration-token {GR}", GR),
    ("gitlab-runner-registration-token", f"--registration-token {GR[:-4]}", None),
    ("gitlab-pipeline-trigger-token", f"-F token={GLPTT} -F ref=main", GLPTT),
    ("gitlab-pipeline-trigger-token", f"-F token=glptt-{GLPTT[6:-1]}z", None),
    ("gitlab-feed-token", f"feed.atom?feed_token={GLFT}", GLFT),
    ("gitlab-feed-token", "feed.atom?feed_token=glft-", None),
    ("gitlab-incoming-mail-token", f"incoming+{GLIMT}@example.org", GLIMT),
    ("gitlab-incoming-mail-token", f"incoming+{GLIMT[:-5]}@example.org", None),
    ("gitlab-agent-token", f"token: {GLAGENT}", GLAGENT),
    ("gitlab-agent-token", f"token: {GLAGENT[:40]}", None),
    ("gitlab-oauth-app-secret", f"secret={GLOAS}", GLOAS),
    ("gitlab-oauth-app-secret", f"secret={GLOAS[:50]}", None),
    ("gitlab-ci-job-token", f"JOB-TOKEN: {GLCBT}", GLCBT),
    ("gitlab-ci-job-token", f"JOB-TOKEN: glcbt-{GLCBT[9:]}", None),
    ("gitlab-scim-token", f"Authorization: Bearer {GLSOAT}", GLSOAT),
    ("gitlab-scim-token", "Authorization: Bearer glsoat-", None),
    ("gitlab-feature-flag-client-token", f"instance_id={GLFFCT}", GLFFCT),
    ("gitlab-feature-flag-client-token", f"instance_id={GLFFCT[:-1]}", None),
    ("gitlab-session-cookie", f"Cookie: _gitlab_session={SESSION}; path=/", SESSION),
    ("gitlab-session-cookie", f"Cookie: _gitlab_session={SESSION[:20]}; path=/", None),
]


@params(CASES)
def test_gitlab_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each GitLab rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
