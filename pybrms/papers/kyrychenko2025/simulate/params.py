"""The simulator's fixed settings: PRISM's counts, the models, and the scales of every draw.

The coefficients come from the published tables (:mod:`.truth`); these are the values the
paper does not print. How each variance was chosen is in
``pybrms/papers/kyrychenko2025/bundled/README.md``.
"""

from __future__ import annotations

#: PRISM raw counts (DATA.md) and the paper's English subset, per conversation type. The
#: simulator lays out conversations in this order (DATA.md's), which fixes its random draws.
RAW_CONVERSATIONS = {"unguided": 3113, "controversy guided": 2438, "values guided": 2460}
ENGLISH_CONVERSATIONS = {"unguided": 3093, "controversy guided": 2427, "values guided": 2440}
N_SURVEY = 1500
N_USERS_WITH_CONVERSATIONS = 1396
N_ENGLISH_USERS = 1394

MODELS: tuple[tuple[str, str], ...] = (
    ("gpt-4", "openai"), ("gpt-4-1106-preview", "openai"), ("gpt-3.5-turbo", "openai"),
    ("claude-2", "anthropic"), ("claude-2.1", "anthropic"), ("claude-instant-1", "anthropic"),
    ("command", "cohere"), ("command-light", "cohere"), ("command-nightly", "cohere"),
    ("llama-2-7b-chat", "meta"), ("llama-2-13b-chat", "meta"), ("llama-2-70b-chat", "meta"),
    ("mistral-7b-instruct", "mistral"), ("zephyr-7b-beta", "huggingface"),
    ("falcon-7b-instruct", "huggingface"), ("flan-t5-xxl", "google"),
    ("chat-bison", "google"), ("pythia-12b", "huggingface"), ("guanaco-33b", "huggingface"),
    ("luminous-extended-control", "aleph_alpha"), ("luminous-supreme-control", "aleph_alpha"),
)

# Response attribute targets: mean and noise sd (probability scale). The simulator draws the
# response attributes in this order.
RESPONSE_MEAN = {"TOXICITY": 0.07, "AFFINITY": 0.35, "COMPASSION": 0.45, "CURIOSITY": 0.25,
                 "REASONING_NUANCE": 0.50, "PERSONAL_STORY": 0.30, "RESPECT": 0.50}
RESPONSE_SD = {"TOXICITY": 0.0248, "AFFINITY": 0.0078, "COMPASSION": 0.0567,
               "CURIOSITY": 0.0746, "REASONING_NUANCE": 0.0684, "PERSONAL_STORY": 0.0636,
               "RESPECT": 0.0166}
# Conversation-level part of each response attribute (what the conversation's topic adds to
# every response of its first turn beyond the prompt's measured attributes).
TOPIC_SD = {"TOXICITY": 0.0134, "AFFINITY": 0.0657, "COMPASSION": 0.0663, "CURIOSITY": 0.0429,
            "REASONING_NUANCE": 0.0545, "PERSONAL_STORY": 0.0539, "RESPECT": 0.0605}
#: second seed word of the topic stream: ``default_rng([seed, TOPIC_STREAM])``
TOPIC_STREAM = 14
# Prompt attributes: logit-scale location and scale, ATTRIBUTES order.
# REASONING and NUANCE sit at the responses' level (logit 0): with the narrow SDs the Table 4
# errors ask for, prompts far below the responses would make their pooled correlation ~0.99.
PROMPT_LOGIT_MEAN = {"AFFINITY": -1.4, "COMPASSION": -1.3, "CURIOSITY": -0.3, "NUANCE": 0.0,
                     "PERSONAL_STORY": -1.6, "REASONING": 0.0, "RESPECT": -0.4, "TOXICITY": -2.8}
PROMPT_LOGIT_SD = {"AFFINITY": 0.2324, "COMPASSION": 0.3370, "CURIOSITY": 0.4870,
                   "NUANCE": 0.1210, "PERSONAL_STORY": 0.4933, "REASONING": 0.1210,
                   "RESPECT": 0.1577, "TOXICITY": 0.7553}
SCORE_MODEL = {"mean_log_score": 3.1, "sd_user": 0.10, "sd_conversation": 0.32,
               "sd_model": 0.15, "sd_residual": 0.50}
#: How Analysis 1a's coefficients follow from the score model, measured with lme4 at full scale
#: (benchmarks/simulator_calibration.py): 1a coefficient ~ kappa * (1b slope) + delta * gamma,
#: where gamma is the attribute's slope on the log residual SD. Solved for gamma per attribute
#: and conversation type so that Table 2a follows from Table 2b (see score_scale in truth.json).
SCALE_CALIBRATION = {
    "kappa": {"AFFINITY": 0.227, "COMPASSION": 0.349, "CURIOSITY": 0.935, "PERSONAL_STORY": 1.635,
              "REASONING_NUANCE": 1.356, "RESPECT": -0.449, "TOXICITY": 2.242},
    "delta": {"AFFINITY": 0.005, "COMPASSION": 0.179, "CURIOSITY": 0.347, "PERSONAL_STORY": 0.349,
              "REASONING_NUANCE": 0.324, "RESPECT": -0.013, "TOXICITY": 0.41},
    "min_delta": 0.05,
}
EMPTY_RESPONSE_RATE = 0.004
SCORED_AT = "2024-06-01T00:00:00+00:00"
