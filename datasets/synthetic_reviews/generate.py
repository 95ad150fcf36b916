"""The synthetic_reviews dataset, made instead of downloaded (the download stage runs `generate`).

No labeled review text ships with the installed packages, so the sentiment
model's offline default is generated, in the course's file format (reviews.txt and labels.txt,
one per line). It is synthetic, and named so in the metrics and README. It is built to be
learnable yet not trivial:

- every review mixes 2-4 opinions about aspects of a film; each agrees with the review's overall
  leaning only 70% of the time, so most reviews hold opinions both ways;
- a third of the opinions are negated opposites ("the plot was not dull" is praise), so counting
  positive and negative words is not enough;
- most reviews end with a verdict that counts double, itself sometimes negated;
- 1-3 neutral sentences ("the film runs a little over two hours") are mixed in.

The label is the sign of the opinions' sum (verdict x2), never a coin flip: a model that reads
negation and weighs the verdict can be right every time; a bag of words cannot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.core.io import atomic_open

ASPECTS = (
    "the acting",
    "the plot",
    "the story",
    "the script",
    "the dialogue",
    "the soundtrack",
    "the score",
    "the cinematography",
    "the pacing",
    "the ending",
    "the direction",
    "the cast",
    "the visual effects",
    "the editing",
    "the lead performance",
    "the humor",
    "the characters",
    "the final act",
)
WORDS = {
    1: (
        "brilliant",
        "moving",
        "gripping",
        "superb",
        "charming",
        "clever",
        "beautiful",
        "memorable",
        "stunning",
        "delightful",
        "powerful",
        "witty",
        "engaging",
        "excellent",
        "wonderful",
        "fresh",
    ),
    -1: (
        "dull",
        "clumsy",
        "tedious",
        "forgettable",
        "predictable",
        "boring",
        "awful",
        "bland",
        "messy",
        "flat",
        "painful",
        "lifeless",
        "confusing",
        "weak",
        "cheap",
        "shallow",
    ),
}
INTENSIFIERS = ("", "", "", "really ", "truly ", "quite ", "absolutely ", "rather ", "incredibly ")
DIRECT = ("{a} was {i}{w}", "i found {a} {i}{w}", "{a} felt {i}{w}", "{a} is {i}{w}", "honestly {a} was {i}{w}")
NEGATED = (
    "{a} was not {w}",
    "{a} was never {w}",
    "{a} was hardly {w}",
    "i would not call {a} {w}",
    "nobody could say {a} was {w}",
)
VERDICTS = {
    1: (
        "overall i loved it",
        "i would recommend it to anyone",
        "definitely worth watching",
        "i would happily see it again",
        "one of the best films this year",
    ),
    -1: (
        "overall i hated it",
        "i would not recommend it",
        "not worth the ticket",
        "i want those two hours back",
        "one of the worst films this year",
    ),
}
NEGATED_VERDICTS = {
    1: ("i cannot say i regret watching it", "i would not call it a waste of time", "it was not a bad film at all"),
    -1: ("i would not call it worth watching", "it was not a good film", "i cannot recommend it"),
}
FILLER = (
    "i saw it with my sister last weekend",
    "the film runs a little over two hours",
    "it was released in the spring",
    "the theater was half empty",
    "i had read the book before",
    "the director also made a documentary",
    "it is based on a true story",
    "there is a short scene after the credits",
    "we bought popcorn and sat near the front",
    "the trailer came out last year",
    "it was filmed in three countries",
    "my friend recommended it",
)


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[rng.integers(len(options))]


def _opinion(rng: np.random.Generator, polarity: int) -> str:
    aspect = _pick(rng, ASPECTS)
    if rng.random() < 0.35:  # praise by denying a fault, or the reverse
        return _pick(rng, NEGATED).format(a=aspect, w=_pick(rng, WORDS[-polarity]))
    return _pick(rng, DIRECT).format(a=aspect, i=_pick(rng, INTENSIFIERS), w=_pick(rng, WORDS[polarity]))


def synthetic_review(rng: np.random.Generator) -> tuple[str, int]:
    """One review and its label (1 positive, 0 negative)."""
    leaning = 1 if rng.random() < 0.5 else -1
    polarities = [leaning if rng.random() < 0.7 else -leaning for _ in range(rng.integers(2, 5))]
    clauses = [_opinion(rng, s) for s in polarities]
    if len(clauses) >= 2 and rng.random() < 0.4:  # mixed opinions in one sentence
        joiner = _pick(rng, ("{0} but {1}", "although {0}, {1}", "{0}, however {1}"))
        clauses[:2] = [joiner.format(clauses[0], clauses[1])]
    score = sum(polarities)
    verdict = None
    if rng.random() < 0.75:
        table = NEGATED_VERDICTS if rng.random() < 0.3 else VERDICTS
        verdict = _pick(rng, table[leaning])
        score += 2 * leaning
    if score == 0:  # never leave the label to chance
        clauses.append(_opinion(rng, leaning))
        score += leaning
    sentences = clauses + [_pick(rng, FILLER) for _ in range(rng.integers(1, 4))]
    rng.shuffle(sentences)
    if verdict is not None:
        sentences.append(verdict)
    return " . ".join(sentences) + " .", int(score > 0)


def generate(out_dir: Path, samples: int, seed: int) -> None:
    """reviews.txt and labels.txt, one review per line, in the course's format."""
    rng = np.random.default_rng(seed)
    reviews = [synthetic_review(rng) for _ in range(samples)]
    with atomic_open(out_dir / "reviews.txt") as fh:
        fh.writelines(text + "\n" for text, _ in reviews)
    with atomic_open(out_dir / "labels.txt") as fh:
        fh.writelines(("positive" if y else "negative") + "\n" for _, y in reviews)
