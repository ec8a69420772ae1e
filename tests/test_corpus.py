"""The seeded message corpus: deterministic, varied, and realistic enough."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from bench.targets.bundled import fixture_path, load_fixture_module

# No browser, no server, no clock: may run beside a timing test, in the background (tests/cpu_share.py).
pytestmark = pytest.mark.background

generator = load_fixture_module("messages/generator.py")

# What each category must visibly contain, checked on the text itself rather
# than trusting the generator's own labels.
SCRIPT_RANGES = {
    "cyrillic": r"[\u0400-\u04FF]",
    "greek": r"[\u0370-\u03FF]",
    "arabic": r"[\u0600-\u06FF]",
    "hebrew": r"[\u0590-\u05FF]",
    "devanagari": r"[\u0900-\u097F]",
    "chinese": r"[\u4E00-\u9FFF]",
    "japanese": r"[\u3040-\u30FF]",
    "korean": r"[\uAC00-\uD7AF]",
    "thai": r"[\u0E00-\u0E7F]",
}
ZWJ_SEQUENCE = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF][\U0001F3FB-\U0001F3FF\uFE0F]?\u200D")
FLAG = re.compile(r"[\U0001F1E6-\U0001F1FF]{2}")
URL = re.compile(r"\bhttps?://\S+")
LONG_WORD = re.compile(r"\S{60,}")


def test_same_seed_same_messages() -> None:
    first = generator.generate_messages(500, seed=7)
    assert first == generator.generate_messages(500, seed=7)
    assert len(first) == 500
    for message in first:
        assert set(message) == {"user", "text"}
        assert isinstance(message["user"], str) and message["user"]
        assert isinstance(message["text"], str) and message["text"].strip()


def test_default_seed_is_zero_and_prefixes_agree() -> None:
    assert generator.generate_messages(50) == generator.generate_messages(50, seed=0)
    # A longer corpus starts with the shorter one: count does not reshuffle.
    assert generator.generate_messages(200, seed=3)[:50] == generator.generate_messages(50, seed=3)
    assert generator.generate_messages(0) == []


def test_no_global_random_state_used_or_changed() -> None:
    import random

    random.seed(123)
    expected_next = random.random()
    random.seed(123)
    a = generator.generate_messages(100, seed=1)
    assert random.random() == expected_next  # global stream untouched
    random.seed(999)
    assert generator.generate_messages(100, seed=1) == a  # and not consulted


def test_different_seeds_differ() -> None:
    corpora = [generator.generate_messages(100, seed=s) for s in range(5)]
    for i in range(len(corpora)):
        for j in range(i + 1, len(corpora)):
            same = sum(a == b for a, b in zip(corpora[i], corpora[j]))
            assert same < 30, (i, j, same)  # short replies may coincide, most must not


def test_every_category_appears_in_1000_messages() -> None:
    labeled = generator.generate_labeled(1000, seed=0)
    seen = {category for category, _ in labeled}
    assert seen == set(generator.CATEGORIES)

    texts = [m["text"] for _, m in labeled]
    assert any(1 <= len(t.split()) <= 5 and len(t) < 40 for t in texts), "short replies"
    assert any(300 <= len(t) <= 800 and "\n" not in t for t in texts), "long paragraphs"
    assert any(t.count("\n") >= 2 and "```" not in t for t in texts), "multi-line"
    assert any(LONG_WORD.search(t) and not URL.search(t) for t in texts), "long unbroken words"
    assert any(u.startswith("https://") for t in texts for u in URL.findall(t)), "https links"
    assert any(u.startswith("http://") for t in texts for u in URL.findall(t)), "http links"
    assert any(re.search(r"`[^`\n]+`", t) and "```" not in t for t in texts), "inline code"
    assert any(re.search(r"```\w*\n.*\n```", t, re.S) for t in texts), "fenced code"
    assert any(ZWJ_SEQUENCE.search(t) for t in texts), "ZWJ emoji"
    assert any(FLAG.search(t) for t in texts), "flag emoji"
    for script, pattern in SCRIPT_RANGES.items():
        assert any(re.search(pattern, t) for t in texts), script


def test_category_mix_follows_the_fixed_weights() -> None:
    n = 5000
    labeled = generator.generate_labeled(n, seed=11)
    total = sum(weight for weight, _ in generator.CATEGORIES.values())
    for category, (weight, _) in generator.CATEGORIES.items():
        share = sum(c == category for c, _ in labeled) / n
        assert abs(share - weight / total) < 0.03, (category, share)


def test_users_are_varied_and_some_non_latin() -> None:
    users = {m["user"] for m in generator.generate_messages(1000, seed=2)}
    assert len(users) >= 10
    non_latin = [u for u in users if any(ord(ch) > 0x24F for ch in u)]  # past Latin Extended-B
    assert len(non_latin) >= 3, users


def test_length_variety() -> None:
    labeled = generator.generate_labeled(1000, seed=5)
    lengths = sorted(len(m["text"]) for _, m in labeled)
    assert lengths[0] <= 5
    assert lengths[-1] >= 500
    median = lengths[len(lengths) // 2]
    assert 10 <= median <= 120, median
    assert sum(n >= 300 for n in lengths) >= 30
    assert sum(n <= 20 for n in lengths) >= 150
    for category, message in labeled:
        if category == "long":
            assert 300 <= len(message["text"]) <= 800
        if category == "short":
            assert 1 <= len(message["text"].split()) <= 5
        if category == "long_word":
            assert LONG_WORD.search(message["text"])
            assert max(len(w) for w in message["text"].split()) <= 120


def test_command_line_prints_one_json_object_per_line() -> None:
    proc = subprocess.run(
        [sys.executable, str(fixture_path("messages/generator.py")), "--count", "5", "--seed", "1"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == generator.generate_messages(5, seed=1)
