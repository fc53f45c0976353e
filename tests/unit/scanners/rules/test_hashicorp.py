"""Vault/OpenBao and infrastructure-secret tooling rules; short OpenBao tokens need a key name."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import (
    ALNUM,
    B64,
    HEX,
    UPPER_ALNUM,
    URLSAFE,
    Case,
    check,
    params,
    synth,
)

HVS = "hvs." + synth(URLSAFE, 91, "hvs")
HVB = "hvb." + synth(URLSAFE, 150, "hvb")
HVR = "hvr." + synth(URLSAFE, 91, "hvr")
S_TOKEN = "s." + synth(ALNUM, 24, "bao-s")
B_TOKEN = "b." + synth(URLSAFE, 150, "bao-b")
ATLAS = synth(ALNUM, 14, "atlas1") + ".atlasv1." + synth(URLSAFE, 67, "atlas2")
PUL = "pul-" + synth(HEX, 40, "pul")
AGE = "AGE-SECRET-KEY-1" + synth("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58, "age")
DOPPLER = "dp.st." + synth(URLSAFE, 43, "doppler")
INFISICAL = ("st.1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b." + synth(HEX, 32, "inf1") + "."
             + synth(HEX, 32, "inf2"))
OPS = "ops_eyJ" + synth(B64, 400, "ops")
A3 = ("A3-" + synth(UPPER_ALNUM, 6, "a31") + "-" + synth(UPPER_ALNUM, 11, "a32") + "-"
      + "-".join(synth(UPPER_ALNUM, 5, f"a3{i}") for i in range(3)))

CASES: list[Case] = [
    ("vault-service-token", f"VAULT_TOKEN={HVS}", HVS),
    ("vault-service-token", "VAULT_TOKEN=hvs.short", None),
    ("vault-batch-token", f"X-Vault-Token: {HVB}", HVB),
    ("vault-batch-token", f"X-Vault-Token: {HVB[:60]}", None),
    ("vault-recovery-token", f"token={HVR}", HVR),
    ("vault-recovery-token", "token=hvr.", None),
    ("openbao-service-token", f"VAULT_TOKEN={S_TOKEN}", S_TOKEN),
    ("openbao-service-token", f"X-Vault-Token: {S_TOKEN}", S_TOKEN),
    ("openbao-service-token", f'{{"client_token": "{S_TOKEN}"}}', S_TOKEN),
    ("openbao-service-token", f"BAO_TOKEN={S_TOKEN}", S_TOKEN),
    ("openbao-service-token", f"loaded module {S_TOKEN}", None),
    ("openbao-service-token", f"VAULT_TOKEN={S_TOKEN}abc", None),
    ("openbao-service-token", "VAULT_TOKEN=s.xxxxxxxxxxxxxxxxxxxxxxxx", None),
    ("openbao-batch-token", f"BAO_TOKEN={B_TOKEN}", B_TOKEN),
    ("openbao-batch-token", f"artifact {B_TOKEN}", None),
    ("terraform-cloud-token", f'token = "{ATLAS}"', ATLAS),
    ("terraform-cloud-token", f'token = "{ATLAS[:40]}"', None),
    ("pulumi-access-token", f"PULUMI_ACCESS_TOKEN={PUL}", PUL),
    ("pulumi-access-token", f"PULUMI_ACCESS_TOKEN={PUL[:-2]}", None),
    ("age-secret-key", AGE, AGE),
    ("age-secret-key", AGE.replace("AGE-SECRET-KEY-1", "AGE-SECRET-KEY-2"), None),
    ("doppler-token", f"DOPPLER_TOKEN={DOPPLER}", DOPPLER),
    ("doppler-token", f"DOPPLER_TOKEN=dp.xx.{DOPPLER[6:]}", None),
    ("infisical-token", f"INFISICAL_TOKEN={INFISICAL}", INFISICAL),
    ("infisical-token", f"INFISICAL_TOKEN={INFISICAL[:-10]}", None),
    ("onepassword-service-account-token", f"OP_SERVICE_ACCOUNT_TOKEN={OPS}", OPS),
    ("onepassword-service-account-token", "OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ...", None),
    ("onepassword-secret-key", f"secret key: {A3}", A3),
    ("onepassword-secret-key", "secret key: A3-XXXXXX-XXXXXXXXXXX-XXXXX-XXXXX-XXXXX", None),
]


@params(CASES)
def test_vault_family_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each Vault/OpenBao/secret-tooling rule finds exactly the credential, not near misses."""
    check(rule_id, line, secret)
