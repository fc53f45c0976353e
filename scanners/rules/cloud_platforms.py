"""Other clouds: DigitalOcean, Alibaba, Tencent, Yandex, IBM, Scaleway, Linode, Oracle."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import END_B64, keyed, prefixed

_C = ("cloud",)

RULES: tuple[Rule, ...] = (
    prefixed("digitalocean-personal-access-token", "DigitalOcean personal access token",
             r"dop_v1_[a-f0-9]{64}", ("dop_v1_",), tags=_C),
    prefixed("digitalocean-oauth-token", "DigitalOcean OAuth access token",
             r"doo_v1_[a-f0-9]{64}", ("doo_v1_",), tags=_C),
    prefixed("digitalocean-refresh-token", "DigitalOcean OAuth refresh token",
             r"dor_v1_[a-f0-9]{64}", ("dor_v1_",), tags=_C),
    prefixed("alibaba-access-key-id", "Alibaba Cloud AccessKey id", r"LTAI[A-Za-z0-9]{12,20}",
             ("ltai",), end=r"\b", min_entropy=3.0, tags=_C),
    keyed("alibaba-access-key-secret", "Alibaba Cloud AccessKey secret next to its key name",
          r"(?:alibaba|aliyun|alicloud)[_.-]?(?:cloud[_.-]?)?access[_.-]?key[_.-]?secret",
          r"[A-Za-z0-9]{30}", ("alibaba", "aliyun", "alicloud"), min_entropy=3.5, tags=_C),
    prefixed("tencent-cloud-secret-id", "Tencent Cloud SecretId", r"AKID[A-Za-z0-9]{32}",
             ("akid",), end=r"\b", min_entropy=3.5, tags=_C),
    prefixed("yandex-cloud-api-key", "Yandex Cloud API key", r"AQVN[A-Za-z0-9_-]{35,38}",
             ("aqvn",), tags=_C),
    prefixed("yandex-cloud-iam-token", "Yandex Cloud IAM token",
             r"t1\.[A-Z0-9a-z_-]{40,200}={0,2}\.[A-Z0-9a-z_-]{86}={0,2}", ("t1.",), end=END_B64,
             tags=_C),
    prefixed("yandex-cloud-static-key", "Yandex Cloud static access key secret",
             r"YC[A-Za-z0-9_-]{38}", ("yc",), min_entropy=4.0, tags=_C),
    keyed("ibm-cloud-api-key", "IBM Cloud API key next to an IBM key name",
          r"ibm[_.-]?(?:cloud[_.-]?)?api[_.-]?key|ibmcloud_api_key|iam_?apikey",
          r"[A-Za-z0-9_-]{44}", ("ibm", "iam_apikey", "iamapikey"), min_entropy=4.0, tags=_C),
    keyed("scaleway-secret-key", "Scaleway secret key next to its key name",
          r"scw[_.-]?secret[_.-]?key|scaleway[_.-]?secret[_.-]?key",
          r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", ("scw", "scaleway"),
          tags=_C),
    keyed("linode-api-token", "Linode (Akamai) API token next to its key name",
          r"linode[_.-]?(?:cli[_.-]?|api[_.-]?)?token", r"[a-f0-9]{64}", ("linode",), tags=_C),
    keyed("oracle-cloud-auth-token", "Oracle Cloud auth token next to its key name",
          r"oci[_.-]?auth[_.-]?token|oracle[_.-]?(?:cloud[_.-]?)?auth[_.-]?token",
          r"[A-Za-z0-9()<>;:.+_#\[\]{}-]{20}", ("oci", "oracle"), min_entropy=3.5, tags=_C),
)
