"""CI and code-hosting services besides GitHub/GitLab: Bitbucket, CircleCI, Travis, Buildkite..."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import keyed, prefixed

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

RULES: tuple[Rule, ...] = (
    prefixed("bitbucket-app-password", "Bitbucket app password", r"ATBB[A-Za-z0-9]{32}",
             ("atbb",), tags=("bitbucket",)),
    prefixed("bitbucket-access-token", "Bitbucket repository/project/workspace access token",
             r"ATCTT3xFfGN0[A-Za-z0-9_=-]{160,240}", ("atctt3xffgn0",), tags=("bitbucket",)),
    keyed("bitbucket-client-secret", "Bitbucket OAuth consumer secret next to its key name",
          r"bitbucket_?(?:oauth_?|client_?|consumer_?)secret", r"[A-Za-z0-9]{32}",
          ("bitbucket",), min_entropy=3.5, tags=("bitbucket",)),
    prefixed("circleci-personal-token", "CircleCI personal API token",
             r"CCIPAT_[A-Za-z0-9]{22}_[0-9a-f]{40}", ("ccipat_",), tags=("circleci",)),
    prefixed("circleci-project-token", "CircleCI project API token",
             r"CCIPRJ_[A-Za-z0-9]{22}_[0-9a-f]{40}", ("cciprj_",), tags=("circleci",)),
    keyed("circleci-legacy-token", "CircleCI legacy API token next to its key name",
          r"circle_?(?:ci_?)?(?:api_?)?token|circleci_?(?:api_?)?token", r"[0-9a-f]{40}",
          ("circle",), tags=("circleci",)),
    keyed("travis-ci-token", "Travis CI API token next to its key name",
          r"travis_?(?:ci_?)?(?:api_?)?token", r"[A-Za-z0-9_-]{22}", ("travis",),
          min_entropy=3.5, tags=("travis",)),
    prefixed("buildkite-api-token", "Buildkite user API access token", r"bkua_[a-f0-9]{40}",
             ("bkua_",), tags=("buildkite",)),
    keyed("buildkite-agent-token", "Buildkite agent token next to its key name",
          r"buildkite_?agent_?token", r"[a-f0-9]{50}|bkct_[A-Za-z0-9]{40,60}", ("buildkite",),
          tags=("buildkite",)),
    keyed("drone-ci-token", "Drone CI token next to its key name", r"drone_?token",
          r"[A-Za-z0-9]{32}", ("drone",), min_entropy=3.5, tags=("drone",)),
    keyed("jenkins-api-token", "Jenkins API token next to a Jenkins key name",
          r"jenkins_?(?:api_?)?(?:token|password)|jenkins_?user_?token", r"11[0-9a-f]{32}",
          ("jenkins",), tags=("jenkins",)),
    prefixed("teamcity-access-token", "JetBrains TeamCity access token",
             r"eyJ0eXAiOiAiVENWMiJ9\.[A-Za-z0-9_-]{30,60}\.[A-Za-z0-9_-]{40,80}",
             ("eyj0exaioiaivenwmij9",), tags=("teamcity",)),
    prefixed("harness-access-token", "Harness personal or service account token",
             r"(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[0-9a-f]{24}\.[A-Za-z0-9]{20}", ("pat.", "sat."),
             tags=("harness",)),
    keyed("codecov-token", "Codecov upload token next to its key name",
          r"codecov_?(?:upload_?)?token", _UUID, ("codecov",), tags=("codecov",)),
    prefixed("sonarqube-token", "SonarQube/SonarCloud token", r"sq[apu]_[0-9a-f]{40}",
             ("sqp_", "sqa_", "squ_"), tags=("sonarqube",)),
    prefixed("octopus-deploy-api-key", "Octopus Deploy API key", r"API-[A-Z0-9]{26}",
             ("api-",), end=r"\b", tags=("octopus",)),
    keyed("snyk-token", "Snyk API token next to its key name", r"snyk_?(?:api_?)?token",
          _UUID, ("snyk",), tags=("snyk",)),
)
