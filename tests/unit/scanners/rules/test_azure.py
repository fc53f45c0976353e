"""Azure rules: storage keys, SAS signatures, client secrets and DevOps tokens."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import (
    ALNUM,
    B64,
    HEX,
    URLSAFE,
    Case,
    check,
    params,
    synth,
)

STORAGE = synth(B64, 86, "storage") + "=="
CONN = ("DefaultEndpointsProtocol=https;AccountName=acme;"
        f"AccountKey={STORAGE};EndpointSuffix=core.windows.net")
SIG = synth(ALNUM, 40, "sig") + "%2B" + synth(ALNUM, 3, "sig2") + "%3D"
SAS = f"https://acme.blob.core.windows.net/c/b?sv=2022-11-02&ss=b&sp=r&se=2030-01-01&sig={SIG}"
SB_KEY = synth(B64, 43, "servicebus") + "="
CLIENT_SECRET = "Xk8" + "7Q~" + synth(URLSAFE + "~.", 34, "entra").replace("-", "a")
ADO = synth("abcdefghijklmnopqrstuvwxyz234567", 52, "ado")
ADO2 = synth(ALNUM, 52, "ado2a") + "JQQJ9" + synth(ALNUM, 19, "ado2b") + "AZDO" + "Xy3q"
APPCONF = synth(B64, 43, "appconf") + "="
APIM = synth(HEX, 32, "apim")

CASES: list[Case] = [
    ("azure-storage-account-key", CONN, STORAGE),
    ("azure-storage-account-key", CONN.replace(STORAGE, STORAGE[4:]), None),
    ("azure-storage-key", f"AZURE_STORAGE_KEY={STORAGE}", STORAGE),
    ("azure-storage-key", f"AZURE_STORAGE_KEY={STORAGE[2:]}", None),
    ("azure-sas-token", SAS, SIG),
    ("azure-sas-token", f"https://acme.example.org/x?sig={SIG}", None),
    ("azure-shared-access-key",
     (f"Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=Root;"
     f"SharedAccessKey={SB_KEY}"), SB_KEY),
    ("azure-shared-access-key", "SharedAccessKey=<your-shared-access-key>", None),
    ("azure-ad-client-secret", f'AZURE_CLIENT_SECRET="{CLIENT_SECRET}"', CLIENT_SECRET),
    ("azure-ad-client-secret", f'AZURE_CLIENT_SECRET="{CLIENT_SECRET.replace("Q~", "Q-")}"',
     None),
    ("azure-devops-pat", f"AZURE_DEVOPS_EXT_PAT={ADO}", ADO),
    ("azure-devops-pat", f"build_id={ADO}", None),
    ("azure-devops-pat-v2", f"pat: {ADO2}", ADO2),
    ("azure-devops-pat-v2", f"pat: {ADO2.replace('AZDO', 'AZDX')}", None),
    ("azure-app-configuration-connection-string",
     f"Endpoint=https://acme.azconfig.io;Id=Ab12-l0-s0:x;Secret={APPCONF}", APPCONF),
    ("azure-app-configuration-connection-string",
     "Endpoint=https://acme.azconfig.io;Id=Ab12;Secret=${APPCONFIG_SECRET}", None),
    ("azure-apim-subscription-key", f"Ocp-Apim-Subscription-Key: {APIM}", APIM),
    ("azure-apim-subscription-key", f"X-Request-Id: {APIM}", None),
    ("azure-openai-api-key", f'AZURE_OPENAI_API_KEY="{APIM}"', APIM),
    ("azure-openai-api-key", f'AZURE_OPENAI_API_KEY="{APIM[:20]}"', None),
]


@params(CASES)
def test_azure_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each Azure rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
