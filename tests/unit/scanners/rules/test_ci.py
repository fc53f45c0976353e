"""CI and code-quality service rules."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import (
    ALNUM,
    HEX,
    UPPER_ALNUM,
    URLSAFE,
    Case,
    check,
    params,
    synth,
)

UUID = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"
ATBB = "ATBB" + synth(ALNUM, 32, "atbb")
ATCTT = "ATCTT3xFfGN0" + synth(URLSAFE, 180, "atctt")
BB_SECRET = synth(ALNUM, 32, "bbsecret")
CCIPAT = "CCIPAT_" + synth(ALNUM, 22, "ccipat") + "_" + synth(HEX, 40, "ccipat2")
CCIPRJ = "CCIPRJ_" + synth(ALNUM, 22, "cciprj") + "_" + synth(HEX, 40, "cciprj2")
CIRCLE = synth(HEX, 40, "circle")
TRAVIS = synth(URLSAFE, 22, "travis")
BKUA = "bkua_" + synth(HEX, 40, "bkua")
BKAGENT = synth(HEX, 50, "bkagent")
DRONE = synth(ALNUM, 32, "drone")
JENKINS = "11" + synth(HEX, 32, "jenkins")
TEAMCITY = ("eyJ0eXAiOiAiVENWMiJ9." + synth(URLSAFE, 36, "tc1") + "."
            + synth(URLSAFE, 48, "tc2"))
HARNESS = ("pat." + synth(URLSAFE, 22, "h1") + "." + synth(HEX, 24, "h2") + "."
           + synth(ALNUM, 20, "h3"))
SONAR = "sqp_" + synth(HEX, 40, "sonar")
OCTOPUS = "API-" + synth(UPPER_ALNUM, 26, "octopus")

CASES: list[Case] = [
    ("bitbucket-app-password", f"BITBUCKET_APP_PASSWORD={ATBB}", ATBB),
    ("bitbucket-app-password", f"BITBUCKET_APP_PASSWORD={ATBB[:-3]}", None),
    ("bitbucket-access-token", f"Authorization: Bearer {ATCTT}", ATCTT),
    ("bitbucket-access-token", "Authorization: Bearer ATCTT3xFfGN0abc", None),
    ("bitbucket-client-secret", f"bitbucket_oauth_secret: {BB_SECRET}", BB_SECRET),
    ("bitbucket-client-secret", f"bitbucket_client_id: {BB_SECRET}", None),
    ("circleci-personal-token", f"Circle-Token: {CCIPAT}", CCIPAT),
    ("circleci-personal-token", f"Circle-Token: {CCIPAT[:-2]}", None),
    ("circleci-project-token", f"CIRCLE_TOKEN={CCIPRJ}", CCIPRJ),
    ("circleci-project-token", f"CIRCLE_TOKEN=CCIPRX_{CCIPRJ[7:]}", None),
    ("circleci-legacy-token", f"CIRCLECI_TOKEN={CIRCLE}", CIRCLE),
    ("circleci-legacy-token", f"CIRCLE_SHA1={CIRCLE}", None),
    ("travis-ci-token", f"TRAVIS_API_TOKEN={TRAVIS}", TRAVIS),
    ("travis-ci-token", f"TRAVIS_COMMIT={TRAVIS}", None),
    ("buildkite-api-token", f"BUILDKITE_API_TOKEN={BKUA}", BKUA),
    ("buildkite-api-token", f"BUILDKITE_API_TOKEN={BKUA[:-1]}", None),
    ("buildkite-agent-token", f'token="{BKAGENT}" # BUILDKITE_AGENT_TOKEN', None),
    ("buildkite-agent-token", f"BUILDKITE_AGENT_TOKEN={BKAGENT}", BKAGENT),
    ("drone-ci-token", f"DRONE_TOKEN={DRONE}", DRONE),
    ("drone-ci-token", f"DRONE_TOKEN={'a1' * 16}", None),
    ("jenkins-api-token", f"JENKINS_API_TOKEN={JENKINS}", JENKINS),
    ("jenkins-api-token", "JENKINS_API_TOKEN=${JENKINS_TOKEN}", None),
    ("teamcity-access-token", f"Authorization: Bearer {TEAMCITY}", TEAMCITY),
    ("teamcity-access-token", "Authorization: Bearer eyJ0eXAiOiAiVENWMiJ9.abc.def", None),
    ("harness-access-token", f"x-api-key: {HARNESS}", HARNESS),
    ("harness-access-token", f"x-api-key: pat.{HARNESS[4:30]}", None),
    ("codecov-token", f"CODECOV_TOKEN={UUID}", UUID),
    ("codecov-token", f"BUILD_UUID={UUID}", None),
    ("sonarqube-token", f"sonar.token={SONAR}", SONAR),
    ("sonarqube-token", f"sonar.token=sqx_{SONAR[4:]}", None),
    ("octopus-deploy-api-key", f"X-Octopus-ApiKey: {OCTOPUS}", OCTOPUS),
    ("octopus-deploy-api-key", f"X-Octopus-ApiKey: {OCTOPUS.lower()}", None),
    ("snyk-token", f"SNYK_TOKEN={UUID}", UUID),
    ("snyk-token", f"SNYK_ORG={UUID}", None),
]


@params(CASES)
def test_ci_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each CI-service rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
