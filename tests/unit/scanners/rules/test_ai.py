"""AI-provider rules: prefixed keys (with OpenAI's T3BlbkFJ marker) and context-bound keys."""

from __future__ import annotations

from tests.unit.scanners.rules.synth import (
    ALNUM,
    HEX,
    LOWER,
    UPPER,
    URLSAFE,
    Case,
    check,
    params,
    synth,
)


def openai(prefix: str, salt: str) -> str:
    return prefix + synth(URLSAFE, 74, salt) + "T3BlbkFJ" + synth(URLSAFE, 74, salt + "2")


PROJ = openai("sk-proj-", "proj")
SVC = openai("sk-svcacct-", "svc")
ADMIN = openai("sk-admin-", "adm")
LEGACY = "sk-" + synth(ALNUM, 20, "legacy") + "T3BlbkFJ" + synth(ALNUM, 20, "legacy2")
ANT = "sk-ant-api03-" + synth(URLSAFE, 93, "ant") + "AA"
ANT_ADMIN = "sk-ant-admin01-" + synth(URLSAFE, 93, "antadm") + "AA"
HF = "hf_" + synth(UPPER + LOWER, 34, "hf")
HF_ORG = "api_org_" + synth(UPPER + LOWER, 34, "hforg")
R8 = "r8_" + synth(ALNUM, 37, "r8")
GSK = "gsk_" + synth(ALNUM, 52, "gsk")
PPLX = "pplx-" + synth(ALNUM, 48, "pplx")
XAI = "xai-" + synth(ALNUM, 80, "xai")
OPENROUTER = "sk-or-v1-" + synth(HEX, 64, "or")
LSV2 = "lsv2_pt_" + synth(HEX, 32, "ls1") + "_" + synth(HEX, 10, "ls2")
PCSK = "pcsk_" + synth(ALNUM, 6, "pc1") + "_" + synth(ALNUM, 64, "pc2")
ELEVEN = "sk_" + synth(HEX, 48, "eleven")
COHERE = synth(ALNUM, 40, "cohere")
MISTRAL = synth(ALNUM, 32, "mistral")
DEEPSEEK = "sk-" + synth(HEX, 32, "deepseek")
TOGETHER = synth(HEX, 64, "together")
FIREWORKS = "fw_" + synth(ALNUM, 24, "fireworks")
ASSEMBLY = synth(HEX, 32, "assembly")
DEEPGRAM = synth(HEX, 40, "deepgram")
WANDB = synth(HEX, 40, "wandb")

CASES: list[Case] = [
    ("openai-project-key", f"OPENAI_API_KEY={PROJ}", PROJ),
    ("openai-project-key", f"OPENAI_API_KEY={PROJ.replace('T3BlbkFJ', 'T3BlbkFK')}", None),
    ("openai-service-account-key", f'api_key="{SVC}"', SVC),
    ("openai-service-account-key", 'api_key="sk-svcacct-..."', None),
    ("openai-admin-key", f"Authorization: Bearer {ADMIN}", ADMIN),
    ("openai-admin-key", f"Authorization: Bearer {ADMIN[:60]}", None),
    ("openai-legacy-key", f"openai.api_key = '{LEGACY}'", LEGACY),
    ("openai-legacy-key", f"openai.api_key = '{LEGACY[:-1]}'", None),
    ("anthropic-api-key", f"ANTHROPIC_API_KEY={ANT}", ANT),
    ("anthropic-api-key", f"ANTHROPIC_API_KEY={ANT[:-2]}AB", None),
    ("anthropic-admin-key", f"x-api-key: {ANT_ADMIN}", ANT_ADMIN),
    ("anthropic-admin-key", f"x-api-key: {ANT_ADMIN[:50]}", None),
    ("huggingface-token", f"HF_TOKEN={HF}", HF),
    ("huggingface-token", "HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", None),
    ("huggingface-org-token", f"token={HF_ORG}", HF_ORG),
    ("huggingface-org-token", f"token={HF_ORG[:-4]}", None),
    ("replicate-api-token", f"REPLICATE_API_TOKEN={R8}", R8),
    ("replicate-api-token", f"REPLICATE_API_TOKEN={R8[:-2]}", None),
    ("groq-api-key", f"GROQ_API_KEY={GSK}", GSK),
    ("groq-api-key", f"GROQ_API_KEY={GSK[:40]}", None),
    ("perplexity-api-key", f"PPLX_API_KEY={PPLX}", PPLX),
    ("perplexity-api-key", f"PPLX_API_KEY={PPLX}00", None),
    ("xai-api-key", f"XAI_API_KEY={XAI}", XAI),
    ("xai-api-key", f"XAI_API_KEY={XAI[:50]}", None),
    ("openrouter-api-key", f"OPENROUTER_API_KEY={OPENROUTER}", OPENROUTER),
    ("openrouter-api-key", f"OPENROUTER_API_KEY=sk-or-v2-{OPENROUTER[9:]}", None),
    ("langsmith-api-key", f"LANGSMITH_API_KEY={LSV2}", LSV2),
    ("langsmith-api-key", f"LANGSMITH_API_KEY={LSV2[:-3]}", None),
    ("pinecone-api-key", f"PINECONE_API_KEY={PCSK}", PCSK),
    ("pinecone-api-key", f"PINECONE_API_KEY={PCSK[:30]}", None),
    ("elevenlabs-api-key", f"xi-api-key: {ELEVEN}", ELEVEN),
    ("elevenlabs-api-key", f"xi-api-key: {ELEVEN[:40]}", None),
    ("cohere-api-key", f"COHERE_API_KEY={COHERE}", COHERE),
    ("cohere-api-key", f"COHERE_MODEL={COHERE}", None),
    ("mistral-api-key", f"MISTRAL_API_KEY={MISTRAL}", MISTRAL),
    ("mistral-api-key", "MISTRAL_API_KEY=your_mistral_api_key_goes_in", None),
    ("deepseek-api-key", f"DEEPSEEK_API_KEY={DEEPSEEK}", DEEPSEEK),
    ("deepseek-api-key", f"request_id={DEEPSEEK}", None),
    ("together-api-key", f"TOGETHER_API_KEY={TOGETHER}", TOGETHER),
    ("together-api-key", f"sha256={TOGETHER}", None),
    ("fireworks-api-key", f"FIREWORKS_API_KEY={FIREWORKS}", FIREWORKS),
    ("fireworks-api-key", "FIREWORKS_API_KEY=fw_short", None),
    ("assemblyai-api-key", f"ASSEMBLYAI_API_KEY={ASSEMBLY}", ASSEMBLY),
    ("assemblyai-api-key", f"etag={ASSEMBLY}", None),
    ("deepgram-api-key", f"DEEPGRAM_API_KEY={DEEPGRAM}", DEEPGRAM),
    ("deepgram-api-key", f"commit={DEEPGRAM}", None),
    ("wandb-api-key", f"WANDB_API_KEY={WANDB}", WANDB),
    ("wandb-api-key", f"WANDB_RUN_ID={WANDB}", None),
]


@params(CASES)
def test_ai_rule(rule_id: str, line: str, secret: str | None) -> None:
    """Each AI-provider rule finds exactly the credential and ignores near misses."""
    check(rule_id, line, secret)
