"""Seeded chat-message corpus with the variety a real chat has.

Rendering cost depends on what a message contains: a one-word reply, a long
paragraph that wraps over many lines, an unbroken 100-character hash that
must be force-wrapped, emoji sequences that need the colour-emoji font,
right-to-left and complex scripts that need shaping. A benchmark that only
sends "message 17" measures none of that, so the corpus mixes all of them
with fixed weights.

    generate_messages(count, seed=0) -> [{"user": str, "text": str}, ...]

Same seed, same list: only a private random.Random(seed) is used.

    python bench/targets/data/messages/generator.py --count 5 --seed 1
prints one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
from typing import Callable

# ---------------------------------------------------------------- vocabulary

USERS = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace_h", "oskar",
    "Дмитрий", "Ελένη", "محمد", "יעל", "प्रिया", "王伟", "さくら", "지훈",
]

WORDS = """
the a to and of in is it that for on with this we be are was not have you
I but at they can just so if do it's what about will there all out up one my
time when get make like now know think should would could need want see look
build deploy test merge branch review commit release server client message
chat queue socket latency frame render paint scroll memory heap leak cache
bug fix issue ticket patch change config flag value error warning log trace
today tomorrow yesterday morning afternoon later soon again already still
meeting lunch coffee weekend plan idea question answer problem solution
quick small big new old fast slow good bad better worse nice great weird
team user customer page button list view screen browser window tab network
works broke fails passes looks seems feels sounds runs ships lands waits
""".split()

SHORT_REPLIES = [
    "ok", "ok!", "yes", "no", "nope", "sure", "thanks", "thanks!", "ty",
    "lol", "haha", "nice", "+1", "done", "on it", "sounds good", "got it",
    "will do", "brb", "same here", "makes sense", "agreed", "not yet",
    "looking now", "one sec", "hmm", "why?", "really?", "good catch",
    "ship it", "LGTM", "on my way", "see you soon", "no worries",
]

TLDS_AND_PATHS = [
    "https://github.com/example/chat/pull/{n}",
    "https://github.com/example/chat/issues/{n}#issuecomment-{m}",
    "https://developer.mozilla.org/en-US/docs/Web/API/WebSocket",
    "https://docs.python.org/3/library/asyncio-queue.html#asyncio.Queue",
    "https://en.wikipedia.org/wiki/Coordinated_omission",
    "http://localhost:{port}/health",
    "http://192.168.1.{octet}:8080/status?verbose=1",
    "https://example.com/reports/{n}?from=2024-01-01&to=2024-03-31",
    "https://ci.example.org/job/chat-ui/{n}/console",
    "https://www.example.net/blog/{slug}",
    "http://intranet.example/wiki/Onboarding",
    "https://calendar.example.com/event?id={hexid}",
]

LINK_LEADS = [
    "see", "have a look:", "context here", "this one?", "docs:", "PR is up",
    "dashboard:", "the failing run", "as discussed", "fyi",
]

INLINE_CODE = [
    "npm run build -- --watch", "git rebase -i HEAD~3", "pytest -q -x",
    "kubectl get pods -n chat", "SELECT count(*) FROM messages",
    "ws.send(JSON.stringify(msg))", "requestAnimationFrame", "overflow-anchor: none",
    "await queue.put(item)", "docker compose up -d", "export NODE_ENV=production",
    "Array.prototype.at", "git bisect run make test", "max_msg_size", "null",
]

INLINE_CODE_TEMPLATES = [
    "try `{c}` first",
    "did you run `{c}`?",
    "`{c}` fixed it for me",
    "I think `{c}` is the culprit, and `{d}` makes it worse",
    "replace it with `{c}`",
    "the docs say to use `{c}` here",
]

CODE_BLOCKS = [
    (
        "python",
        'async def broadcast(clients, text):\n'
        '    for client in list(clients):\n'
        '        client.queue.put_nowait(text)\n',
    ),
    (
        "js",
        'socket.addEventListener("message", (event) => {\n'
        '  const msg = JSON.parse(event.data);\n'
        '  if (msg.type === "message") render(msg);\n'
        '});\n',
    ),
    (
        "",
        "Traceback (most recent call last):\n"
        '  File "server.py", line 88, in handler\n'
        "    await ws.send_str(frame)\n"
        "ConnectionResetError: Cannot write to closing transport\n",
    ),
    (
        "css",
        ".message {\n  white-space: pre-wrap;\n  overflow-wrap: anywhere;\n}\n",
    ),
    (
        "sh",
        "$ curl -s localhost:8000/health | jq .\n"
        '{\n  "status": "ok",\n  "clients": 3\n}\n',
    ),
    (
        "sql",
        "SELECT user, count(*) AS n\nFROM messages\nGROUP BY user\nORDER BY n DESC\nLIMIT 10;\n",
    ),
]

CODE_LEADS = ["here:", "this is what I have", "repro:", "got this:", "", "logs below"]

# Emoji, written as escapes so the joiners and modifiers are visible here.
ZWJ = "\u200d"
VS16 = "\ufe0f"
SIMPLE_EMOJI = [
    "\U0001F600", "\U0001F602", "\U0001F60D", "\U0001F914", "\U0001F62D",
    "\U0001F389", "\U0001F680", "\U0001F525", "\u2764\ufe0f", "\U0001F44D",
    "\U0001F440", "\U0001F64F", "\u2705", "\u274C", "\U0001F37B", "\u2615",
]
ZWJ_EMOJI = [
    "\U0001F469" + ZWJ + "\U0001F4BB",                                 # woman technologist
    "\U0001F468" + ZWJ + "\U0001F469" + ZWJ + "\U0001F467" + ZWJ + "\U0001F466",  # family
    "\U0001F3F3" + VS16 + ZWJ + "\U0001F308",                           # rainbow flag
    "\U0001F9D1\U0001F3FD" + ZWJ + "\U0001F680",                        # astronaut, skin tone
    "\U0001F43B" + ZWJ + "\u2744" + VS16,                               # polar bear
    "\U0001F3C3\U0001F3FB" + ZWJ + "\u2640" + VS16,                     # woman running
    "\u2764" + VS16 + ZWJ + "\U0001F525",                               # heart on fire
]
SKIN_TONE_EMOJI = ["\U0001F44D\U0001F3FD", "\U0001F44B\U0001F3FF", "\U0001F64C\U0001F3FB"]
FLAG_COUNTRIES = ["DE", "JP", "BR", "UA", "US", "IN", "KR", "GR", "IL", "TH", "EG", "FR"]


def flag(country: str) -> str:
    """A flag emoji: the country code as two regional indicator symbols."""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in country)


FLAG_EMOJI = [flag(c) for c in FLAG_COUNTRIES]

# A few everyday phrases per script, so shaping, bidi and CJK line breaking
# all get exercised.
SCRIPTS: dict[str, list[str]] = {
    "cyrillic": [
        "Привет, как дела?", "Сегодня релиз в пять часов.",
        "Я посмотрю это после обеда.", "Спасибо, всё работает!",
    ],
    "greek": [
        "Καλημέρα σε όλους!", "Ευχαριστώ πολύ.", "Θα το κοιτάξω αύριο το πρωί.",
    ],
    "arabic": [
        "مرحبا، كيف حالك؟", "شكرا جزيلا!", "سأراجع الطلب بعد الاجتماع.",
    ],
    "hebrew": [
        "שלום, מה שלומך?", "תודה רבה!", "אני אבדוק את זה מחר בבוקר.",
    ],
    "devanagari": [
        "नमस्ते, आप कैसे हैं?", "धन्यवाद!", "मैं कल सुबह इसे देखूँगा।",
    ],
    "chinese": [
        "我们今天下午开会吧。", "谢谢你的帮助！", "这个问题我明天再看。",
    ],
    "japanese": [
        "今日はいい天気ですね。", "ありがとうございます！", "明日の朝に確認します。",
    ],
    "korean": [
        "안녕하세요, 반갑습니다.", "감사합니다!", "내일 아침에 확인할게요.",
    ],
    "thai": [
        "สวัสดีครับ วันนี้เป็นอย่างไรบ้าง", "ขอบคุณมากครับ", "พรุ่งนี้เช้าจะตรวจสอบให้นะ",
    ],
}

# ---------------------------------------------------------------- builders

Builder = Callable[[random.Random], str]


def _sentence(rng: random.Random, min_words: int = 6, max_words: int = 18) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(min_words, max_words))]
    if len(words) > 8 and rng.random() < 0.5:
        words[rng.randrange(3, len(words) - 2)] += ","
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice(".....!?")


def short_reply(rng: random.Random) -> str:
    """1-5 words: the bulk of any real chat."""
    if rng.random() < 0.6:
        return rng.choice(SHORT_REPLIES)
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))


def medium(rng: random.Random) -> str:
    """One or two ordinary sentences."""
    return " ".join(_sentence(rng) for _ in range(rng.randint(1, 2)))


def long_paragraph(rng: random.Random) -> str:
    """300-800 characters of prose that wraps over many lines."""
    target = rng.randint(300, 800)
    text = _sentence(rng, 8, 20)
    while len(text) < target:
        text += " " + _sentence(rng, 8, 20)
    if len(text) > 800:
        # Cut at a word boundary, keeping at least 300 characters.
        cut = text.rfind(" ", 300, 800)
        text = text[:cut].rstrip(",.!?") + "."
    return text


def multi_line(rng: random.Random) -> str:
    """2-6 lines, sometimes a list, sometimes with a blank line."""
    lines = []
    bullets = rng.random() < 0.4
    for _ in range(rng.randint(2, 6)):
        line = medium(rng) if rng.random() < 0.5 else short_reply(rng)
        lines.append(("- " + line) if bullets else line)
    if not bullets and len(lines) > 2 and rng.random() < 0.5:
        lines.insert(rng.randrange(1, len(lines)), "")
    return "\n".join(lines)


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def long_word(rng: random.Random) -> str:
    """An unbroken 60-120 character token: hash, path or key."""
    length = rng.randint(60, 120)
    kind = rng.choice(["hash", "path", "token"])
    if kind == "hash":
        word = _hex(rng, length)
    elif kind == "path":
        parts = ["/var/lib/chat"]
        while len("/".join(parts)) < length:
            parts.append(rng.choice(WORDS).strip("',") + "_" + _hex(rng, 4))
        word = "/".join(parts)[:length]
    else:
        alphabet = string.ascii_letters + string.digits + "-_"
        word = "".join(rng.choice(alphabet) for _ in range(length))
    lead = rng.choice(["commit", "file", "key", "the id is", "it's at", "checksum"])
    return f"{lead} {word}"


def link(rng: random.Random) -> str:
    """Text with one or two http(s) URLs."""
    def url() -> str:
        return rng.choice(TLDS_AND_PATHS).format(
            n=rng.randint(1, 9999),
            m=rng.randint(10**6, 10**7),
            port=rng.choice([3000, 8000, 8080]),
            octet=rng.randint(2, 254),
            slug="-".join(rng.choice(WORDS).strip("',") for _ in range(3)),
            hexid=_hex(rng, 16),
        )

    text = f"{rng.choice(LINK_LEADS)} {url()}"
    if rng.random() < 0.3:
        text += f" and {url()}"
    if rng.random() < 0.4:
        text += " " + _sentence(rng, 3, 8)
    return text


def inline_code(rng: random.Random) -> str:
    """A sentence with `backticked` code in it."""
    c, d = rng.sample(INLINE_CODE, 2)
    return rng.choice(INLINE_CODE_TEMPLATES).format(c=c, d=d)


def code_block(rng: random.Random) -> str:
    """A fenced code block, with an optional line before it."""
    lang, body = rng.choice(CODE_BLOCKS)
    lead = rng.choice(CODE_LEADS)
    block = f"```{lang}\n{body}```"
    return f"{lead}\n{block}" if lead else block


def emoji(rng: random.Random) -> str:
    """Emoji alone or in a sentence: simple, skin tones, ZWJ sequences, flags."""
    pool = SIMPLE_EMOJI + SKIN_TONE_EMOJI + ZWJ_EMOJI + FLAG_EMOJI
    picks = [rng.choice(pool) for _ in range(rng.randint(1, 4))]
    # Make sure every emoji message has at least one of the hard kinds.
    picks.append(rng.choice(ZWJ_EMOJI + FLAG_EMOJI))
    rng.shuffle(picks)
    glyphs = "".join(picks)
    style = rng.random()
    if style < 0.3:
        return glyphs
    if style < 0.7:
        return f"{short_reply(rng)} {glyphs}"
    return f"{_sentence(rng, 4, 10)} {glyphs}"


def non_latin(rng: random.Random) -> str:
    """One to three phrases in one non-Latin script, sometimes mixed with English."""
    script = rng.choice(sorted(SCRIPTS))
    phrases = rng.sample(SCRIPTS[script], rng.randint(1, min(3, len(SCRIPTS[script]))))
    text = " ".join(phrases)
    if rng.random() < 0.3:
        text += f" ({short_reply(rng)})"
    return text


# Category -> (weight, builder). Weights are fixed so a corpus's mix does not
# depend on the seed; they roughly follow a busy engineering channel.
CATEGORIES: dict[str, tuple[int, Builder]] = {
    "short": (26, short_reply),
    "medium": (20, medium),
    "long": (7, long_paragraph),
    "multiline": (8, multi_line),
    "long_word": (4, long_word),
    "link": (8, link),
    "inline_code": (6, inline_code),
    "code_block": (3, code_block),
    "emoji": (8, emoji),
    "non_latin": (10, non_latin),
}


# ---------------------------------------------------------------- public API


def generate_labeled(count: int, seed: int = 0) -> list[tuple[str, dict[str, str]]]:
    """Like generate_messages, with each message's category: [(category, msg)]."""
    if count < 0:
        raise ValueError("count must be non-negative")
    rng = random.Random(seed)
    names = list(CATEGORIES)
    weights = [CATEGORIES[name][0] for name in names]
    out = []
    for _ in range(count):
        category = rng.choices(names, weights)[0]
        user = rng.choice(USERS)
        text = CATEGORIES[category][1](rng)
        out.append((category, {"user": user, "text": text}))
    return out


def generate_messages(count: int, seed: int = 0) -> list[dict[str, str]]:
    """`count` chat messages {"user", "text"}; the same seed gives the same list."""
    return [message for _, message in generate_labeled(count, seed)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a seeded chat corpus, one JSON object per line.")
    parser.add_argument("--count", type=int, default=10, help="number of messages (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be non-negative")
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(encoding="utf-8")  # JSON is UTF-8 whatever the locale says
    for message in generate_messages(args.count, args.seed):
        out.write(json.dumps(message, ensure_ascii=False) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
