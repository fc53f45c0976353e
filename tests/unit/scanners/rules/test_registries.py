"""Package-registry rules: npm only with a valid checksum; the rest by prefix and length."""

from __future__ import annotations

import base64

from tests.unit.scanners.rules.synth import (
    ALNUM,
    HEX,
    LOWER_ALNUM,
    URLSAFE,
    Case,
    break_checksum,
    check,
    crc_token,
    params,
    synth,
)

NPM = crc_token("npm_", "npm")
AUTH = base64.b64encode(b"ci-bot:" + synth(ALNUM, 20, "npmpw").encode()).decode()
PYPI = "pypi-AgEIcHlwaS5vcmc" + synth(URLSAFE, 140, "pypi")
TESTPYPI = "pypi-AgENdGVzdC5weXBpLm9yZw" + synth(URLSAFE, 140, "testpypi")
DCKR = "dckr_pat_" + synth(URLSAFE, 27, "dckr")
DCKR_OAT = "dckr_oat_" + synth(URLSAFE, 32, "dckroat")
GEMS = "rubygems_" + synth(HEX, 48, "gems")
NUGET = "oy2" + synth(LOWER_ALNUM, 43, "nuget")
CIO = "cio" + synth(ALNUM, 32, "cio")
AKCP = "AKCp" + synth(ALNUM, 69, "akcp")
REFTKN = "cmVmdGtuOjAxOj" + synth(ALNUM, 50, "reftkn")
PACKAGIST = "packagist_out_" + synth(HEX, 68, "packagist")
CLOJARS = "CLOJARS_" + synth(LOWER_ALNUM, 60, "clojars")
HEXPM = synth(HEX, 32, "hexpm")
GRADLE = synth(ALNUM, 32, "gradle")

CASES: list[Case] = [
    ("npm-access-token", f"//registry.npmjs.org/:_authToken={NPM}", NPM),
    ("npm-access-token", f"NPM_TOKEN={break_checksum(NPM)}", None),
    ("npmrc-auth-token", f"//npm.pkg.github.com/:_authToken={NPM}", NPM),
    ("npmrc-auth-token", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}", None),
    ("npmrc-basic-auth", f"_auth={AUTH}", AUTH),
    ("npmrc-basic-auth", "_auth=bm90LWNyZWRlbnRpYWxz", None),
    ("pypi-upload-token", f"password = {PYPI}", PYPI),
    ("pypi-upload-token", "password = pypi-AgEIcHlwaS5vcmcshort", None),
    ("testpypi-upload-token", f"TWINE_PASSWORD={TESTPYPI}", TESTPYPI),
    ("testpypi-upload-token", f"TWINE_PASSWORD={TESTPYPI[:40]}", None),
    ("dockerhub-personal-access-token", f"echo {DCKR} | docker login -u bot --password-stdin",
     DCKR),
    ("dockerhub-personal-access-token", f"echo {DCKR[:-4]} | docker login", None),
    ("dockerhub-organization-access-token", f"DOCKER_TOKEN={DCKR_OAT}", DCKR_OAT),
    ("dockerhub-organization-access-token", f"DOCKER_TOKEN={DCKR_OAT[:-9]}", None),
    ("rubygems-api-key", f":rubygems_api_key: {GEMS}", GEMS),
    ("rubygems-api-key", f":rubygems_api_key: {GEMS[:-8]}", None),
    ("nuget-api-key", f"dotnet nuget push x.nupkg --api-key {NUGET}", NUGET),
    ("nuget-api-key", f"dotnet nuget push x.nupkg --api-key {NUGET.upper()}", None),
    ("crates-io-token", f'token = "{CIO}"', CIO),
    ("crates-io-token", f'token = "{CIO}x"', None),
    ("jfrog-api-key", f"X-JFrog-Art-Api: {AKCP}", AKCP),
    ("jfrog-api-key", f"X-JFrog-Art-Api: {AKCP[:60]}", None),
    ("jfrog-reference-token", f"Authorization: Bearer {REFTKN}", REFTKN),
    ("jfrog-reference-token", "Authorization: Bearer cmVmdGtuOjAxOjE2", None),
    ("packagist-token", f"composer config http-basic.x token {PACKAGIST}", PACKAGIST),
    ("packagist-token", f"token packagist_xyz_{PACKAGIST[14:]}", None),
    ("clojars-token", f"CLOJARS_PASSWORD={CLOJARS}", CLOJARS),
    ("clojars-token", f"CLOJARS_PASSWORD={CLOJARS[:30]}", None),
    ("hex-pm-api-key", f"HEX_API_KEY={HEXPM}", HEXPM),
    ("hex-pm-api-key", f"HEX_MIRROR={HEXPM}", None),
    ("gradle-plugin-portal-secret", f"gradle.publish.secret={GRADLE}", GRADLE),
    ("gradle-plugin-portal-secret", "gradle.publish.secret=<secret>", None),
]


@params(CASES)
def test_registry_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each package-registry rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
