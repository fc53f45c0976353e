"""Other-cloud rules: prefixed ids and tokens, context-bound secrets."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import (
    ALNUM,
    HEX,
    UPPER,
    URLSAFE,
    Case,
    check,
    params,
    synth,
)

UUID = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"
DOP, DOO, DOR = ("do" + k + "_v1_" + synth(HEX, 64, k) for k in ("p", "o", "r"))
LTAI = "LTAI" + synth(ALNUM, 20, "ltai")
ALI_SECRET = synth(ALNUM, 30, "alisecret")
AKID = "AKID" + synth(ALNUM, 32, "akid")
AQVN = "AQVN" + synth(URLSAFE, 36, "aqvn")
T1 = "t1." + synth(URLSAFE, 60, "t1a") + "." + synth(URLSAFE, 86, "t1b")
YC = "YC" + synth(URLSAFE, 38, "yc")
IBM = synth(URLSAFE, 44, "ibm")
LINODE = synth(HEX, 64, "linode")
OCI = synth(ALNUM + "(<;:.+_#", 20, "oci")

CASES: list[Case] = [
    ("digitalocean-personal-access-token", f"DIGITALOCEAN_TOKEN={DOP}", DOP),
    ("digitalocean-personal-access-token", f"DIGITALOCEAN_TOKEN={DOP[:-1]}", None),
    ("digitalocean-oauth-token", f"Authorization: Bearer {DOO}", DOO),
    ("digitalocean-oauth-token", f"Authorization: Bearer doo_v2_{DOO[7:]}", None),
    ("digitalocean-refresh-token", f'"refresh_token": "{DOR}"', DOR),
    ("digitalocean-refresh-token", f'"refresh_token": "{DOR.upper()}"', None),
    ("alibaba-access-key-id", f"ALIBABA_CLOUD_ACCESS_KEY_ID={LTAI}", LTAI),
    ("alibaba-access-key-id", "ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI_placeholder", None),
    ("alibaba-access-key-secret", f"ALIBABA_CLOUD_ACCESS_KEY_SECRET={ALI_SECRET}", ALI_SECRET),
    ("alibaba-access-key-secret", f"ALIBABA_CLOUD_REGION={ALI_SECRET}", None),
    ("tencent-cloud-secret-id", f"TENCENTCLOUD_SECRET_ID={AKID}", AKID),
    ("tencent-cloud-secret-id", f"TENCENTCLOUD_SECRET_ID={AKID[:-6]}", None),
    ("yandex-cloud-api-key", f"YC_API_KEY={AQVN}", AQVN),
    ("yandex-cloud-api-key", f"YC_API_KEY={AQVN[:20]}", None),
    ("yandex-cloud-iam-token", f"Authorization: Bearer {T1}", T1),
    ("yandex-cloud-iam-token", "Authorization: Bearer t1.abc.def", None),
    ("yandex-cloud-static-key", f"secret: {YC}", YC),
    ("yandex-cloud-static-key", f"secret: YC{UPPER[:20]}", None),
    ("ibm-cloud-api-key", f"IBMCLOUD_API_KEY={IBM}", IBM),
    ("ibm-cloud-api-key", f"IBMCLOUD_REGION={IBM}", None),
    ("scaleway-secret-key", f"SCW_SECRET_KEY={UUID}", UUID),
    ("scaleway-secret-key", f"SCW_DEFAULT_PROJECT_ID={UUID}", None),
    ("linode-api-token", f"LINODE_TOKEN={LINODE}", LINODE),
    ("linode-api-token", f"LINODE_TOKEN={LINODE[:40]}", None),
    ("oracle-cloud-auth-token", f"OCI_AUTH_TOKEN={OCI}", OCI),
    ("oracle-cloud-auth-token", "OCI_AUTH_TOKEN=<auth-token-here>", None),
]


@params(CASES)
def test_cloud_platform_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each other-cloud rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
