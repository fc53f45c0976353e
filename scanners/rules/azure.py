"""Microsoft Azure: storage keys, SAS signatures, Entra ID client secrets, DevOps PATs."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import END_B64, keyed, prefixed

_STORAGE_KEY = r"[A-Za-z0-9+/]{86}=="

RULES: tuple[Rule, ...] = (
    prefixed("azure-storage-account-key", "Azure storage account key in a connection string",
             _STORAGE_KEY, ("accountkey=",), start=r"(?i:AccountKey)=", end=END_B64,
             tags=("azure",)),
    keyed("azure-storage-key", "Azure storage account key next to a storage key name",
          r"azure_?storage_?(?:account_?)?(?:access_?)?key|storage_?account_?key",
          _STORAGE_KEY, ("storage",), end=END_B64, tags=("azure",)),
    Rule(
        id="azure-sas-token",
        description="Azure shared access signature (the sig= of a SAS URL or token)",
        pattern=r"(?:\bsv=\d{4}-\d\d-\d\d|SharedAccessSignature\s?)[^\s\"'<>]{0,400}?\bsig="
        r"(?P<secret>[A-Za-z0-9%+/]{40,100}(?:%3D|=){0,2})" + END_B64,
        keywords=("sig=",), min_entropy=4.0, tags=("provider", "azure"),
    ),
    prefixed("azure-shared-access-key", "Azure Service Bus / Event Hubs shared access key",
             r"[A-Za-z0-9+/]{43}=", ("sharedaccesskey=",), start=r"(?i:SharedAccessKey)=",
             end=END_B64, tags=("azure",)),
    prefixed("azure-ad-client-secret", "Microsoft Entra ID (Azure AD) application client secret",
             r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}", ("q~",),
             start=r"(?:^|[\s\"'`=:(,>\\])", end=r"(?:$|[\s\"'`<),;\\])", tags=("azure",)),
    keyed("azure-devops-pat", "Azure DevOps personal access token next to its key name",
          r"azure_?devops_?(?:ext_?)?(?:pat|token)|ado_?pat|azdo_?pat|system_?accesstoken",
          r"[a-z2-7]{52}", ("devops", "ado_pat", "adopat", "azdo", "accesstoken"),
          tags=("azure",)),
    prefixed("azure-devops-pat-v2", "Azure DevOps personal access token (84-character format)",
             r"[A-Za-z0-9]{52}JQQJ9[A-Za-z0-9]{19}AZDO[A-Za-z0-9]{4}", ("azdo",),
             tags=("azure",)),
    prefixed("azure-app-configuration-connection-string",
             "Azure App Configuration connection string secret",
             r"[A-Za-z0-9+/]{43}=", ("azconfig.io",),
             start=r"Endpoint=https://[a-z0-9-]{1,64}\.azconfig\.io;Id=[^;\s]{1,64};Secret=",
             end=END_B64, tags=("azure",)),
    keyed("azure-apim-subscription-key", "Azure API Management subscription key",
          r"ocp-apim-subscription-key", r"[0-9a-f]{32}", ("ocp-apim-subscription-key",),
          tags=("azure",)),
    keyed("azure-openai-api-key", "Azure OpenAI API key next to its key name",
          r"azure_?openai_?(?:api_?)?key", r"[0-9a-f]{32}", ("openai",), tags=("azure",)),
)
