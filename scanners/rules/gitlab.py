"""GitLab: the prefixed token family (personal, deploy, runner, trigger, OAuth, CI job...)."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import prefixed

_T = r"[0-9A-Za-z_-]"


def _gl(id: str, description: str, body: str, keyword: str) -> Rule:
    return prefixed(id, description, body, (keyword,), tags=("gitlab",))


RULES: tuple[Rule, ...] = (
    _gl("gitlab-personal-access-token", "GitLab personal access token",
        rf"glpat-(?:{_T}{{20}}|{_T}{{27,300}}\.[0-9a-z]{{2}}\.[0-9a-z]{{9}})", "glpat-"),
    _gl("gitlab-deploy-token", "GitLab deploy token", rf"gldt-{_T}{{20}}", "gldt-"),
    _gl("gitlab-runner-authentication-token", "GitLab runner authentication token",
        rf"glrt-{_T}{{20,27}}", "glrt-"),
    _gl("gitlab-runner-registration-token", "GitLab runner registration token",
        rf"GR1348941{_T}{{20}}", "gr1348941"),
    _gl("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token",
        r"glptt-[0-9a-f]{40}", "glptt-"),
    _gl("gitlab-feed-token", "GitLab feed token", rf"glft-{_T}{{20}}", "glft-"),
    _gl("gitlab-incoming-mail-token", "GitLab incoming mail token",
        rf"glimt-{_T}{{25}}", "glimt-"),
    _gl("gitlab-agent-token", "GitLab agent for Kubernetes token",
        rf"glagent-{_T}{{50}}", "glagent-"),
    _gl("gitlab-oauth-app-secret", "GitLab OAuth application secret",
        rf"gloas-{_T}{{64}}", "gloas-"),
    _gl("gitlab-ci-job-token", "GitLab CI/CD job token",
        rf"glcbt-[0-9a-fA-F]{{1,5}}_{_T}{{20}}", "glcbt-"),
    _gl("gitlab-scim-token", "GitLab SCIM OAuth token", rf"glsoat-{_T}{{20}}", "glsoat-"),
    _gl("gitlab-feature-flag-client-token", "GitLab feature flags client token",
        rf"glffct-{_T}{{20}}", "glffct-"),
    prefixed("gitlab-session-cookie", "GitLab session cookie",
             r"[0-9a-f]{32}", ("_gitlab_session=",), start=r"_gitlab_session=",
             tags=("gitlab",)),
)
