"""AI providers: OpenAI, Anthropic, Hugging Face, Cohere, Replicate, Groq, Perplexity, ..."""

from __future__ import annotations

from scanners.rule import Rule
from scanners.rules.shapes import keyed, prefixed

_OPENAI_BODY = r"[A-Za-z0-9_-]{20,74}T3BlbkFJ[A-Za-z0-9_-]{20,74}"


def _ai(id: str, description: str, body: str, keywords: tuple[str, ...]) -> Rule:
    return prefixed(id, description, body, keywords, tags=("ai",))


RULES: tuple[Rule, ...] = (
    _ai("openai-project-key", "OpenAI project API key", "sk-proj-" + _OPENAI_BODY,
        ("sk-proj-",)),
    _ai("openai-service-account-key", "OpenAI service account API key",
        "sk-svcacct-" + _OPENAI_BODY, ("sk-svcacct-",)),
    _ai("openai-admin-key", "OpenAI admin API key", "sk-admin-" + _OPENAI_BODY, ("sk-admin-",)),
    _ai("openai-legacy-key", "OpenAI user API key (legacy format)",
        r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}", ("t3blbkfj",)),
    _ai("anthropic-api-key", "Anthropic API key", r"sk-ant-api03-[A-Za-z0-9_-]{93}AA",
        ("sk-ant-api03-",)),
    _ai("anthropic-admin-key", "Anthropic admin API key", r"sk-ant-admin01-[A-Za-z0-9_-]{93}AA",
        ("sk-ant-admin01-",)),
    _ai("huggingface-token", "Hugging Face user access token", r"hf_[A-Za-z]{34}", ("hf_",)),
    _ai("huggingface-org-token", "Hugging Face organization API token", r"api_org_[A-Za-z]{34}",
        ("api_org_",)),
    _ai("replicate-api-token", "Replicate API token", r"r8_[A-Za-z0-9]{37}", ("r8_",)),
    _ai("groq-api-key", "Groq API key", r"gsk_[A-Za-z0-9]{52}", ("gsk_",)),
    _ai("perplexity-api-key", "Perplexity API key", r"pplx-[A-Za-z0-9]{48}", ("pplx-",)),
    _ai("xai-api-key", "xAI API key", r"xai-[A-Za-z0-9]{80}", ("xai-",)),
    _ai("openrouter-api-key", "OpenRouter API key", r"sk-or-v1-[a-f0-9]{64}", ("sk-or-v1-",)),
    _ai("langsmith-api-key", "LangSmith personal or service key",
        r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}", ("lsv2_",)),
    _ai("pinecone-api-key", "Pinecone API key", r"pcsk_[A-Za-z0-9]{5,6}_[A-Za-z0-9]{60,70}",
        ("pcsk_",)),
    _ai("elevenlabs-api-key", "ElevenLabs API key", r"sk_[a-f0-9]{48}", ("sk_",)),
    keyed("cohere-api-key", "Cohere API key next to its key name",
          r"cohere[_.-]?(?:api[_.-]?)?key|co_api_key", r"[A-Za-z0-9]{40}",
          ("cohere", "co_api_key"), min_entropy=3.5, tags=("ai",)),
    keyed("mistral-api-key", "Mistral AI API key next to its key name",
          r"mistral[_.-]?(?:ai[_.-]?)?(?:api[_.-]?)?key", r"[A-Za-z0-9]{32}", ("mistral",),
          min_entropy=3.5, tags=("ai",)),
    keyed("deepseek-api-key", "DeepSeek API key next to its key name",
          r"deepseek[_.-]?(?:api[_.-]?)?key", r"sk-[a-f0-9]{32}", ("deepseek",), tags=("ai",)),
    keyed("together-api-key", "Together AI API key next to its key name",
          r"together[_.-]?(?:ai[_.-]?)?(?:api[_.-]?)?key", r"[a-f0-9]{64}|tgp_v1_[A-Za-z0-9_-]{43}",
          ("together",), tags=("ai",)),
    keyed("fireworks-api-key", "Fireworks AI API key next to its key name",
          r"fireworks[_.-]?(?:ai[_.-]?)?(?:api[_.-]?)?key", r"(?:fw_)?[A-Za-z0-9]{24,48}",
          ("fireworks",), min_entropy=3.5, tags=("ai",)),
    keyed("assemblyai-api-key", "AssemblyAI API key next to its key name",
          r"assembly_?ai[_.-]?(?:api[_.-]?)?key", r"[a-f0-9]{32}", ("assembly",), tags=("ai",)),
    keyed("deepgram-api-key", "Deepgram API key next to its key name",
          r"deepgram[_.-]?(?:api[_.-]?)?key", r"[a-f0-9]{40}", ("deepgram",), tags=("ai",)),
    keyed("wandb-api-key", "Weights & Biases API key next to its key name",
          r"wandb[_.-]?api[_.-]?key", r"[a-f0-9]{40}|local-[a-f0-9]{40}", ("wandb",),
          tags=("ai",)),
)
