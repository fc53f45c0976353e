"""Package registries: npm (with checksum), PyPI, Docker Hub, RubyGems, NuGet, crates.io, ..."""

from __future__ import annotations

from scanners.checksums import has_crc32_base62_suffix
from scanners.rule import Rule
from scanners.rules.shapes import END_B64, keyed, prefixed
from scanners.structures import is_basic_credentials

RULES: tuple[Rule, ...] = (
    prefixed("npm-access-token", "npm access token (checksummed)", r"npm_[A-Za-z0-9]{36}",
             ("npm_",), validate=has_crc32_base62_suffix, tags=("npm",)),
    prefixed("npmrc-auth-token", "Registry token in an .npmrc _authToken line",
             r"[A-Za-z0-9_.+/=-]{20,512}", ("_authtoken",),
             start=r"(?i:_authToken)\s{0,3}=\s{0,3}[\"']?", end=r"(?:[\s\"']|$)",
             min_entropy=3.0, tags=("npm",)),
    prefixed("npmrc-basic-auth", "Base64 user:password in an .npmrc _auth line",
             r"[A-Za-z0-9+/]{8,512}={0,2}", ("_auth",), start=r"\b_auth\s{0,3}=\s{0,3}[\"']?",
             end=END_B64, validate=is_basic_credentials, tags=("npm",)),
    prefixed("pypi-upload-token", "PyPI API token", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000}",
             ("pypi-ageichlwas5vcmc",), tags=("pypi",)),
    prefixed("testpypi-upload-token", "TestPyPI API token",
             r"pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_-]{50,1000}",
             ("pypi-agendgvzdc5wexbplm9yzw",), tags=("pypi",)),
    prefixed("dockerhub-personal-access-token", "Docker Hub personal access token",
             r"dckr_pat_[A-Za-z0-9_-]{27}", ("dckr_pat_",), tags=("docker",)),
    prefixed("dockerhub-organization-access-token", "Docker Hub organization access token",
             r"dckr_oat_[A-Za-z0-9_-]{32}", ("dckr_oat_",), tags=("docker",)),
    prefixed("rubygems-api-key", "RubyGems API key", r"rubygems_[0-9a-f]{48}", ("rubygems_",),
             tags=("rubygems",)),
    prefixed("nuget-api-key", "NuGet.org API key", r"oy2[a-z0-9]{43}", ("oy2",),
             tags=("nuget",)),
    prefixed("crates-io-token", "crates.io API token", r"cio[A-Za-z0-9]{32}", ("cio",),
             min_entropy=3.5, tags=("crates",)),
    prefixed("jfrog-api-key", "JFrog Artifactory API key", r"AKCp[A-Za-z0-9]{69}", ("akcp",),
             tags=("jfrog",)),
    prefixed("jfrog-reference-token", "JFrog reference token",
             r"cmVmdGtuOjAxOj[A-Za-z0-9]{40,60}", ("cmvmdgtuojaxoj",), tags=("jfrog",)),
    prefixed("packagist-token", "Packagist user or organization token",
             r"packagist_[ou][ru]t_[a-f0-9]{68}", ("packagist_",), tags=("packagist",)),
    prefixed("clojars-token", "Clojars deploy token", r"CLOJARS_[a-z0-9]{60}", ("clojars_",),
             tags=("clojars",)),
    keyed("hex-pm-api-key", "Hex.pm API key next to its key name", r"hex_?api_?key",
          r"[a-f0-9]{32}", ("hex_api", "hexapi"), tags=("hex",)),
    keyed("gradle-plugin-portal-secret", "Gradle Plugin Portal publishing secret",
          r"gradle\.publish\.secret", r"[A-Za-z0-9]{32}", ("gradle.publish.secret",),
          min_entropy=3.5, tags=("gradle",)),
)
