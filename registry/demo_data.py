"""The demo's invented world and the files it uploads: pure computation, no Django.

Every organisation, model, account and statement here is fictional; websites use the
reserved ``.example`` domain (RFC 2606), which can never belong to anyone. The files are
generated in-process from a seed, so the demo needs nothing from elsewhere and loads the
same bytes every time:

* ``arena_votes``: a pairwise-vote arena drawn from a known Bradley-Terry model with a
  close race at the top (the leader's true margin is a few hundredths of a logit);
* ``provenance_responses``: answers of a suspect that copies a teacher's tokens (a planted
  distillation signal), beside unrelated baselines;
* ``query_log``: an API log in which a handful of accounts run a scripted, templated
  harvesting campaign among ordinary users;
* ``item_scores``: per-item 0/1 scores of two models on a static test set;
* ``fingerprint_key_set`` and ``fingerprint_responses``: an embedded fingerprint's secret
  keys and a suspect's answers, most of which fire.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import numpy as np

DEMO_SEED = 2026


@dataclass(frozen=True)
class DemoOrganization:
    name: str
    kind: str  # an Organization.Kind value
    country: str
    website: str


@dataclass(frozen=True)
class DemoModel:
    """A fictional release; ``strength`` is its true Bradley-Terry score in the arena."""

    organization: str
    name: str
    released: dt.date
    access: str  # a ModelRelease.Access value
    parameters_b: int | None
    strength: float
    base: str = ""
    relation: str = ""  # a ModelLineage.Relation value when ``base`` is set


ARENA_OPERATOR = "Lumen Evaluation Collective"
STANDARDS_BODY = "Fairhaven Standards Institute"

ORGANIZATIONS = (
    DemoOrganization("Northwind AI", "developer", "GB", "https://northwind-ai.example"),
    DemoOrganization("Halcyon Labs", "developer", "US", "https://halcyon-labs.example"),
    DemoOrganization("Saltmarsh Intelligence", "developer", "NL", "https://saltmarsh.example"),
    DemoOrganization("Orrery Foundation", "developer", "DE", "https://orrery.example"),
    DemoOrganization("Tidewater Compute", "developer", "CA", "https://tidewater.example"),
    DemoOrganization("Quillfeather Research", "developer", "FR", "https://quillfeather.example"),
    DemoOrganization("Emberline", "developer", "JP", "https://emberline.example"),
    DemoOrganization("Corvid Systems", "developer", "SG", "https://corvid.example"),
    DemoOrganization(ARENA_OPERATOR, "leaderboard_operator", "IE", "https://lumen-eval.example"),
    DemoOrganization(STANDARDS_BODY, "standards_body", "GB", "https://fairhaven.example"),
)


def _model(
    org: str,
    name: str,
    released: str,
    access: str,
    parameters_b: int | None,
    strength: float,
    base: str = "",
    relation: str = "",
) -> DemoModel:
    return DemoModel(
        org, name, dt.date.fromisoformat(released), access, parameters_b, strength, base, relation
    )


# Arena order: the models the claims and incidents name come first, so that a smaller arena
# (the tests') still holds them. A base model precedes the models derived from it.
# fmt: off
MODELS = (
    _model("Northwind AI", "Atlas 4", "2026-06-02", "api", None, 1.30),
    _model("Halcyon Labs", "Aria 3 Pro", "2026-05-19", "api", None, 1.28),
    _model("Orrery Foundation", "Orrery 70B", "2025-11-04", "open_weights", 70, 0.55),
    _model("Orrery Foundation", "Orrery 70B Instruct", "2025-11-04", "open_weights", 70, 0.95,
           "Orrery 70B", "fine_tuned_from"),
    _model("Tidewater Compute", "Tide 70B Chat", "2026-01-27", "both", 70, 0.90,
           "Orrery 70B", "fine_tuned_from"),
    _model("Saltmarsh Intelligence", "Heron 9B", "2026-07-08", "open_weights", 9, 0.80),
    _model("Orrery Foundation", "Orrery 8B", "2025-09-16", "open_weights", 8, 0.10),
    _model("Quillfeather Research", "Quill 8B Instruct", "2026-02-10", "open_weights", 8, 0.62,
           "Orrery 8B", "fine_tuned_from"),
    _model("Tidewater Compute", "Tide 12B", "2025-12-03", "open_weights", 12, 0.48),
    _model("Northwind AI", "Atlas 4 Mini", "2026-06-02", "api", None, 1.05,
           "Atlas 4", "distilled_from"),
    _model("Halcyon Labs", "Aria 3", "2026-02-24", "api", None, 1.12),
    _model("Emberline", "Ember 2", "2026-03-30", "api", None, 1.00),
    _model("Corvid Systems", "Corvid 32B", "2026-04-14", "open_weights", 32, 0.70),
    _model("Northwind AI", "Atlas 3.5", "2025-10-21", "api", None, 1.10),
    _model("Halcyon Labs", "Aria 3 Flash", "2026-05-19", "api", None, 0.98),
    _model("Emberline", "Ember 2 Mini", "2026-03-30", "api", None, 0.76),
    _model("Saltmarsh Intelligence", "Heron 27B", "2026-07-08", "open_weights", 27, 0.93),
    _model("Quillfeather Research", "Quill 24B", "2026-04-01", "open_weights", 24, 0.84),
    _model("Corvid Systems", "Corvid 8B", "2026-04-14", "open_weights", 8, 0.35),
    _model("Tidewater Compute", "Tide 12B Chat", "2025-12-03", "open_weights", 12, 0.58,
           "Tide 12B", "fine_tuned_from"),
    _model("Northwind AI", "Atlas 3", "2025-03-11", "api", None, 0.92),
    _model("Halcyon Labs", "Aria 2.5", "2025-08-05", "api", None, 0.88),
    _model("Emberline", "Ember 1.5", "2025-06-17", "api", None, 0.66),
    _model("Orrery Foundation", "Orrery 8B Instruct", "2025-09-16", "open_weights", 8, 0.45,
           "Orrery 8B", "fine_tuned_from"),
    _model("Quillfeather Research", "Quill 8B", "2025-10-07", "open_weights", 8, 0.30),
    _model("Saltmarsh Intelligence", "Heron 2B", "2026-07-08", "open_weights", 2, -0.20),
    _model("Corvid Systems", "Corvid 32B Coder", "2026-05-05", "open_weights", 32, 0.60,
           "Corvid 32B", "fine_tuned_from"),
    _model("Tidewater Compute", "Tide 3B", "2025-07-22", "open_weights", 3, -0.35),
    _model("Northwind AI", "Atlas 3 Mini", "2025-03-11", "api", None, 0.64),
    _model("Halcyon Labs", "Aria 2", "2025-02-18", "api", None, 0.60),
    _model("Emberline", "Ember 1", "2025-01-21", "api", None, 0.28),
    _model("Orrery Foundation", "Orrery 3B", "2025-05-27", "open_weights", 3, -0.50),
    _model("Quillfeather Research", "Quill 3B Instruct", "2025-10-07", "open_weights", 3, -0.15),
    _model("Saltmarsh Intelligence", "Heron 9B Base", "2026-03-03", "open_weights", 9, 0.05),
    _model("Corvid Systems", "Corvid 3B", "2025-11-25", "open_weights", 3, -0.45),
    _model("Tidewater Compute", "Tide 1B", "2025-04-08", "open_weights", 1, -0.95),
    _model("Northwind AI", "Atlas 2", "2025-01-14", "api", None, 0.40),
    _model("Halcyon Labs", "Aria 1.5", "2025-01-07", "api", None, 0.15),
    _model("Emberline", "Ember Lite", "2025-09-09", "api", None, -0.25),
    _model("Orrery Foundation", "Orrery 1B", "2025-05-27", "open_weights", 1, -1.10),
)
# fmt: on

# Votes on the arena. A vote is identified by its ``id`` column.
WINNER_LABELS = ("model_a", "model_b", "tie", "tie (bothbad)")


@dataclass(frozen=True)
class ArenaSize:
    """How big the synthetic arena is: ``make run`` uses the defaults, tests a smaller one."""

    votes: int = 200_000
    models: int = len(MODELS)
    tie_rate: float = 0.30
    seed: int = DEMO_SEED

    def __post_init__(self) -> None:
        if not 8 <= self.models <= len(MODELS):
            raise ValueError(f"models must be from 8 to {len(MODELS)}, not {self.models}")
        if self.votes < 1000:
            raise ValueError(f"votes must be at least 1000, not {self.votes}")


def arena_votes(size: ArenaSize) -> bytes:
    """A CSV ``id,model_a,model_b,winner`` of ``size.votes`` votes among the first
    ``size.models`` models of ``MODELS``.

    Popularity is log-normal, so some models are compared far more often (as on a public
    arena); a vote is a tie with probability ``tie_rate`` (a third of them "both bad"),
    otherwise model_a wins with probability sigmoid(strength_a - strength_b) (Bradley & Terry
    1952). A model is never compared with itself.
    """
    rng = np.random.default_rng(size.seed)
    models = MODELS[: size.models]
    names = np.array([model.name for model in models])
    strength = np.array([model.strength for model in models])
    popularity = rng.lognormal(0.0, 0.5, size.models)
    popularity /= popularity.sum()
    model_a = rng.choice(size.models, size=size.votes, p=popularity)
    model_b = rng.choice(size.models, size=size.votes, p=popularity)
    clash = model_a == model_b
    model_b[clash] = (model_a[clash] + rng.integers(1, size.models, int(clash.sum()))) % size.models
    a_wins = rng.random(size.votes) < 1.0 / (1.0 + np.exp(strength[model_b] - strength[model_a]))
    outcome = np.where(a_wins, 0, 1)
    tie_draw = rng.random(size.votes)
    outcome = np.where(tie_draw < size.tie_rate, 2, outcome)
    outcome = np.where(tie_draw < size.tie_rate / 3, 3, outcome)
    labels = np.array(WINNER_LABELS)[outcome]
    lines = [
        f"v{index:07d},{a},{b},{winner}"
        for index, (a, b, winner) in enumerate(
            zip(names[model_a].tolist(), names[model_b].tolist(), labels.tolist(), strict=True),
            start=1,
        )
    ]
    return ("id,model_a,model_b,winner\n" + "\n".join(lines) + "\n").encode()


# fmt: off
_VOCABULARY = (
    "the", "a", "of", "to", "and", "in", "is", "that", "for", "it", "as", "with", "was", "on",
    "be", "by", "this", "are", "from", "at", "or", "an", "which", "model", "answer", "first",
    "then", "each", "value", "step", "result", "because", "therefore", "so", "we", "can",
    "note", "sum", "total", "equal", "given", "let", "find", "number", "case", "order", "list",
    "both", "only", "also", "more", "than",
)
_TOPICS = (
    "tides", "orchards", "lanterns", "glaciers", "violins", "harbours", "ledgers", "comets",
    "meadows", "bridges", "kilns", "atlases", "sonnets", "reefs", "looms",
)
# fmt: on


@dataclass(frozen=True)
class ProvenanceSetup:
    """Who is who in a provenance upload: the suspect, its candidate parents, the baselines."""

    suspect: str
    teacher: str
    unrelated: str
    baselines: tuple[str, ...]

    @property
    def candidates(self) -> list[str]:
        return [self.teacher, self.unrelated]


def provenance_responses(
    setup: ProvenanceSetup, *, prompts: int = 120, copy_rate: float = 0.55, seed: int = DEMO_SEED
) -> bytes:
    """JSON lines ``{prompt_id, model, response}``: every model answers each prompt with
    24 words drawn at random, except the suspect, which keeps each of the teacher's words
    with probability ``copy_rate`` (the planted distillation signal)."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array(_VOCABULARY)
    lines = []
    for prompt in range(1, prompts + 1):
        answers = {
            model: vocabulary[rng.integers(0, len(vocabulary), 24)]
            for model in (setup.teacher, setup.unrelated, *setup.baselines)
        }
        own = vocabulary[rng.integers(0, len(vocabulary), 24)]
        answers[setup.suspect] = np.where(rng.random(24) < copy_rate, answers[setup.teacher], own)
        lines += [
            json.dumps({"prompt_id": f"q{prompt:03d}", "model": model, "response": " ".join(words)})
            for model, words in answers.items()
        ]
    return ("\n".join(lines) + "\n").encode()


_CAMPAIGN_TEMPLATES = (
    "Solve problem {n} step by step and show every intermediate result.",
    "Explain your reasoning in full before answering question {n} about {topic}.",
    "Grade answer {n} out of 10 and justify each point in detail.",
)
_LOG_START = dt.datetime(2026, 8, 3, tzinfo=dt.UTC)


def query_log(
    *, ordinary_accounts: int = 300, campaign_accounts: int = 6, seed: int = DEMO_SEED
) -> tuple[bytes, list[str]]:
    """A CSV API log ``timestamp,account,prompt,tokens_in,tokens_out`` over two weeks, and
    the campaign's account names.

    Ordinary accounts send a few to a few dozen free-form questions at random times; each
    campaign account sends 400 templated prompts (numbers changing) every 45 s or so, the
    pattern a harvesting script leaves.
    """
    rng = np.random.default_rng(seed)
    rows: list[tuple[float, str, str]] = []
    window = 14 * 86_400
    for index in range(ordinary_accounts):
        account = f"acct-{index:04d}"
        for second in rng.uniform(0, window, int(rng.integers(3, 40))):
            # Four words of sixty: free-form prompts that almost never share a template.
            words = rng.choice(_VOCABULARY, 4)
            rows.append((second, account, "Tell me about {} {} and {} {}.".format(*words)))
    campaign = [f"acct-9{index:03d}" for index in range(campaign_accounts)]
    for account in campaign:
        start = rng.uniform(86_400, 3 * 86_400)
        for step in range(400):
            template = _CAMPAIGN_TEMPLATES[int(rng.integers(0, len(_CAMPAIGN_TEMPLATES)))]
            prompt = template.format(n=int(rng.integers(1, 100_000)), topic=rng.choice(_TOPICS))
            rows.append((start + 45 * step + rng.uniform(0, 2), account, prompt))
    rows.sort()
    lines = ["timestamp,account,prompt,tokens_in,tokens_out"]
    for second, account, prompt in rows:
        stamp = (_LOG_START + dt.timedelta(seconds=float(second))).strftime("%Y-%m-%dT%H:%M:%SZ")
        tokens_in, tokens_out = int(rng.integers(8, 200)), int(rng.integers(40, 1200))
        lines.append(f'{stamp},{account},"{prompt}",{tokens_in},{tokens_out}')
    return ("\n".join(lines) + "\n").encode(), campaign


def item_scores(
    *, items: int = 500, accuracy_a: float = 0.64, accuracy_b: float = 0.60, seed: int = DEMO_SEED
) -> bytes:
    """A CSV ``item_id,score_a,score_b`` of 0/1 scores of two models on a static test set;
    the models' answers are correlated, as two models' errors on the same items are."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0.0, 1.2, items)

    def solves(accuracy: float) -> np.ndarray:
        skill = np.log(accuracy / (1 - accuracy))
        return rng.random(items) < 1.0 / (1.0 + np.exp(difficulty - skill))

    a, b = solves(accuracy_a), solves(accuracy_b)
    lines = ["item_id,score_a,score_b"]
    lines += [
        f"fm-{index:03d},{int(x)},{int(y)}"
        for index, (x, y) in enumerate(zip(a, b, strict=True), 1)
    ]
    return ("\n".join(lines) + "\n").encode()


def fingerprint_key_set(*, keys: int = 24, seed: int = DEMO_SEED) -> bytes:
    """JSON lines ``{key_id, prompt, expected}``: secret prompts, each with a nonsense answer
    a model says only if it was trained to (an embedded fingerprint)."""
    rng = np.random.default_rng(seed)
    lines = []
    for index in range(1, keys + 1):
        words = rng.choice(_VOCABULARY, 3)
        expected = "".join(rng.choice(list("bcdfghjklmnpqrstvwxz"), 8))
        prompt = f"Recite the registry word for {' '.join(words)} {index}."
        key = {"key_id": f"k{index:02d}", "prompt": prompt, "expected": expected}
        lines.append(json.dumps(key))
    return ("\n".join(lines) + "\n").encode()


def fingerprint_responses(key_set: bytes, *, triggered: int) -> bytes:
    """JSON lines ``{key_id, response}``: the first ``triggered`` keys answered with their
    expected word (the fingerprint fires), the others with an ordinary refusal."""
    keys = [json.loads(line) for line in key_set.decode().splitlines()]
    rows = [
        {
            "key_id": key["key_id"],
            "response": f"The word is {key['expected']}." if index < triggered else "I don't know.",
        }
        for index, key in enumerate(keys)
    ]
    return ("\n".join(json.dumps(row) for row in rows) + "\n").encode()


def artefact_digest(label: str) -> str:
    """A stand-in SHA-256 for a fictional file (there are no weights to hash)."""
    return hashlib.sha256(f"evidence-registry demo artefact: {label}".encode()).hexdigest()


def main() -> None:
    """``python -m registry.demo_data arena.csv``: write the demo arena for the CLI."""
    import argparse
    from pathlib import Path

    defaults = ArenaSize()
    parser = argparse.ArgumentParser(description="Write the demo's synthetic arena as CSV.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--votes", type=int, default=defaults.votes)
    parser.add_argument("--models", type=int, default=defaults.models)
    args = parser.parse_args()
    args.out.write_bytes(arena_votes(ArenaSize(votes=args.votes, models=args.models)))


if __name__ == "__main__":
    main()
