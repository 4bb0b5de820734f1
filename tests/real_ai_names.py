"""Names of real AI organisations, models, arenas and data sets, for tests that check the
demo and the sample reports invent theirs. Matched as whole words, case-insensitively."""

from __future__ import annotations

import re

# fmt: off
REAL_AI_NAMES = (
    # Organisations
    "OpenAI", "Anthropic", "Google", "DeepMind", "Meta", "Facebook", "Mistral", "Microsoft",
    "Amazon", "AWS", "Apple", "Nvidia", "xAI", "Cohere", "AI21", "Alibaba", "Baidu", "Tencent",
    "ByteDance", "DeepSeek", "Moonshot", "Zhipu", "01.AI", "Stability AI", "Hugging Face",
    "Inflection", "Aleph Alpha", "Together AI", "Perplexity", "IBM", "Samsung", "Databricks",
    "MosaicML", "EleutherAI", "LMSYS", "LMArena", "Chatbot Arena", "Allen Institute", "AI2",
    "Reka", "Writer", "Nous Research", "MiniMax", "Upstage", "Technology Innovation Institute",
    "llmonitor", "Ustalov",
    # Models and model families
    "GPT", "GPT-4", "GPT 4", "GPT-3.5", "ChatGPT", "o1", "o3", "Claude", "Gemini", "Gemma",
    "Bard", "PaLM", "LaMDA", "Llama", "LLaMA", "Mixtral", "Codestral", "Qwen", "Grok",
    "Command R", "command-nightly", "Jurassic", "Jamba", "ERNIE", "Hunyuan", "Doubao", "Kimi",
    "GLM", "ChatGLM", "Nemotron", "Falcon", "Vicuna", "Alpaca", "Koala", "Guanaco", "Dolly",
    "Pythia", "MPT", "StarCoder", "Platypus", "MythoMax", "Luminous", "Phi-3", "Phi-4", "Yi",
    "OLMo", "DBRX", "Arctic", "Titan", "Nova", "WizardLM", "Zephyr", "OpenChat", "Orca",
    "StableLM", "RedPajama", "Airoboros", "Chronos Hermes", "Hermes", "Sonnet 3", "Opus",
    "Haiku", "LLMFAO",
)
# fmt: on

# Longest first, so that "GPT 4" is reported as such rather than as "GPT".
_ALTERNATIVES = sorted(REAL_AI_NAMES, key=len, reverse=True)
_PATTERN = re.compile(
    r"(?<!\w)(" + "|".join(re.escape(name) for name in _ALTERNATIVES) + r")(?!\w)",
    re.IGNORECASE,
)


def real_names_in(text: str) -> set[str]:
    """The real names that occur in ``text`` as whole words, as written there."""
    return {match.group(1) for match in _PATTERN.finditer(text)}
