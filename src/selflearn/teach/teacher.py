"""The teaching conversation: statements, commands, guided questions, teachable moments.

An assistant hands every recognised utterance to :meth:`Teacher.hear` first: a preference
statement, a teaching command ("forget that", "what do you know about me", "learn my
preferences") or the answer to a question the assistant just asked is handled here and
answered; anything else returns None and the assistant handles it as a request. After the
assistant answered a request it hands the turn to :meth:`Teacher.observe`, which watches
for a *teachable moment* — a name the assistant did not know, the same request failing
twice, an explicit "no" or an interruption followed by a rephrase — and may return a
question to add to the answer ("Would you like to teach me what you mean by the big
light?"). A per-user budget keeps it from nagging: a few questions a week at most, hours
apart, never twice about the same words.
"""

from __future__ import annotations

import random
import re
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from rapidfuzz import fuzz, process

from selflearn.errors import ConfigError
from selflearn.logs.schema import TurnEvent
from selflearn.rewrite.base import normalize_utterance
from selflearn.signals.said import read_feedback
from selflearn.teach.parse import (
    Command,
    Statement,
    is_vague,
    parse_answer,
    parse_command,
    parse_statement,
)
from selflearn.teach.store import Preference, PreferenceStore

__all__ = ["QUESTIONS", "Reply", "TeachConfig", "Teacher"]

WEEK_S = 7 * 86_400.0
MISHEARD_RATIO = 75.0  # an unknown name this close to a known one was misheard
SNAP_RATIO = 70.0  # a taught name this close to a known one is that one, misheard
# Guided questions, by the kind of preference they ask for.
QUESTIONS = {
    "artist": "Which artist or band do you like best?",
    "genre": "What kind of music do you like?",
    "team": "Which team do you follow?",
    "cuisine": "What kind of food do you like?",
    "place": "When you ask about a town, which one do you mean, with its state?",
    "alias": "Is there a device you call by a name of your own? Say: by this I mean that.",
    "media": "On a screen, do you prefer movies or audiobooks?",
    "player": "Which speaker should play your music?",
}
# The kinds worth asking about for each domain a user talks to the assistant about.
DOMAIN_KINDS = {
    "media_player": ("artist", "genre", "player", "media"),
    "weather": ("place",),
    "light": ("alias",),
    "switch": ("alias",),
    "fan": ("alias",),
    "cover": ("alias",),
    "climate": ("alias",),
    "lock": ("alias",),
    "sports": ("team",),
    "food": ("cuisine",),
}
_FILL = ("artist", "team", "cuisine", "place")
_NO_START = re.compile(
    r"^(?:no|nope|not that|not the|wrong|that is wrong|that is not|that was wrong|that was not)\b"
)
_ANSWER_START = re.compile(r"^(?:i meant|i mean|i wanted|i said|yes|yeah|by |when i say)")
# how a request (not an answer) starts: a command verb or a question word
_REQUEST_START = re.compile(
    r"^(?:turn|switch|play|set|put|open|close|lock|unlock|start|stop|cancel|pause|resume|dim|"
    r"brighten|increase|decrease|raise|lower|add|remind|tell|show|find|skip|next|mute|unmute|"
    r"what|what's|whats|who|where|when|why|how|is|are|do|does|can|could|will|would|hey|please)\b"
)


@dataclass(frozen=True)
class TeachConfig:
    """How often the assistant may ask: at most ``asks_per_week`` questions per user in
    any 7 days, ``min_gap_s`` apart, never twice about the same words in a week; an
    answer counts within ``answer_window_s`` of the question."""

    asks_per_week: int = 3
    vague_asks_per_week: int = 1  # of which "what did you mean?" with no words to ask about
    min_gap_s: float = 4 * 3600.0
    answer_window_s: float = 120.0
    repeat_window_s: float = 120.0  # the same request failing again within this
    min_confidence: float = 0.5  # ask about a name only if the recogniser was this sure
    guided_questions: tuple[int, int] = (2, 4)

    def __post_init__(self) -> None:
        if self.asks_per_week < 0:
            raise ConfigError("TeachConfig", "asks_per_week", self.asks_per_week, "an int >= 0")
        low, high = self.guided_questions
        if not 1 <= low <= high:
            raise ConfigError(
                "TeachConfig", "guided_questions", self.guided_questions, "1 <= low <= high"
            )


@dataclass(frozen=True)
class Reply:
    """What the assistant says to a teaching utterance. ``kind``: stored, forgot, listed,
    question, declined, unclear, unknown_speaker."""

    text: str
    kind: str
    stored: Preference | None = None
    forgot: int = 0


@dataclass
class _Pending:
    kind: str | None  # the kind of answer expected (None: any statement)
    about: str | None  # the words the question is about
    failed: str | None  # the request that failed, for an answer that restates it whole
    ts: float
    source: str  # question (a teachable moment) / guided
    queue: list[str] = field(default_factory=list)  # guided kinds still to ask


@dataclass
class _Recent:
    text: str
    ok: bool
    ts: float
    intent: str | None
    unknown: str | None  # a name or title the assistant did not know
    ambiguous: str | None  # a name several things answer to
    barged: bool


@dataclass
class _User:
    domains: Counter[str] = field(default_factory=Counter)
    recent: deque[_Recent] = field(default_factory=lambda: deque(maxlen=3))
    asks: list[float] = field(default_factory=list)
    vague_asks: list[float] = field(default_factory=list)
    asked_about: dict[str, float] = field(default_factory=dict)


class Teacher:
    """Teaching for one assistant: what users state, ask and answer, kept in ``store``.

    >>> teacher = Teacher(PreferenceStore())
    >>> teacher.hear("I'm a Warriors fan", user_id="u1", ts=0.0).kind
    'stored'
    >>> teacher.hear("what do you know about me", user_id="u1", ts=1.0).text
    'I know that you like warriors (team).'
    >>> teacher.hear("turn on the light", user_id="u1", ts=2.0) is None
    True
    """

    def __init__(
        self,
        store: PreferenceStore,
        config: TeachConfig | None = None,
        *,
        artists: frozenset[str] | set[str] = frozenset(),
        names: Iterable[str] = (),
        seed: int = 0,
    ) -> None:
        """``artists``: names the assistant's catalogue knows; ``names``: what its devices,
        rooms and places are called (more are learned from the turns it resolves)."""
        self.store = store
        self.config = config or TeachConfig()
        self.artists = frozenset(artists)
        self.questions_asked = 0
        self.moments = 0
        self._rng = random.Random(seed)
        self._pending: dict[str, _Pending] = {}
        self._users: dict[str, _User] = {}
        # names the assistant knows or has resolved, and their words (to tell a mishearing)
        self._names = {normalize_utterance(n) for n in names if n}
        self._words = {
            w for n in self._names for word in n.split() for w in (word, word.rstrip("s"))
        }

    # -- what the user says -------------------------------------------------------------

    def hear(
        self, text: str, *, user_id: str | None, ts: float, turn_id: str | None = None
    ) -> Reply | None:
        """A reply when ``text`` is for the teacher; None when it is a request."""
        pending = self._pending.get(user_id or "")
        if pending is not None and ts - pending.ts > self.config.answer_window_s:
            del self._pending[user_id or ""]
            pending = None
        command = parse_command(text)
        if pending is not None and user_id:
            reply = self._answer(pending, text, command, user_id, ts, turn_id)
            if reply is not None:
                return reply
        if command is not None and command.kind in ("yes", "no"):
            return None  # a bare "yes" or "no" to no question is the assistant's to handle
        statement = None if command else parse_statement(text, artists=self.artists)
        if command is None and statement is None:
            return None
        if not user_id:
            return Reply(
                "I can only remember that for someone whose voice I know.", "unknown_speaker"
            )
        if command is not None:
            return self._command(command, user_id, ts)
        assert statement is not None
        if self._renames_known(statement):
            return Reply(
                f"{statement.key} is already the name of something here; I'll keep it.",
                "unclear",
            )
        statement = self._snap(statement)
        stored = self.store.add(user_id, statement, turn_id=turn_id, ts=ts, source="statement")
        return Reply(f"Got it: {statement.describe()}.", "stored", stored)

    def takes(self, text: str, *, user_id: str | None, ts: float) -> bool:
        """Whether ``text`` is for the teacher (without hearing it): a teaching command, a
        preference, or an answer to this user's pending question. An assistant asks this on
        every request and hands the words to :meth:`hear` only when it is so. One case is
        narrower than :meth:`hear`: a verdict such as "that's wrong" is the teacher's only
        right after this user taught something; otherwise it judges the assistant's answer."""
        command = parse_command(text)
        pending = self._pending.get(user_id or "")
        if pending is not None and ts - pending.ts <= self.config.answer_window_s:
            core = normalize_utterance(text)
            if command is not None or not _REQUEST_START.match(core) or _ANSWER_START.match(core):
                return True
        if command is not None and command.kind == "forget_last" and read_feedback(text).feedback:
            # "that's wrong" takes back what was just taught; after anything else it is a
            # verdict on the assistant's answer, not the teacher's
            mine = self.store.of(user_id) if user_id else []
            return any(ts - p.ts <= self.config.answer_window_s for p in mine)
        if command is not None:
            return command.kind not in ("yes", "no")
        return parse_statement(text, artists=self.artists) is not None

    def _command(self, command: Command, user_id: str, ts: float) -> Reply:
        if command.kind == "forget_last":
            gone = self.store.forget_last(user_id)
            if gone is None:
                return Reply("There was nothing to forget.", "forgot")
            return Reply(f"OK, I forgot that {gone.statement().describe()}.", "forgot", forgot=1)
        if command.kind == "forget_all":
            count = self.store.forget_user(user_id)
            self._pending.pop(user_id, None)
            return Reply(
                f"OK, I forgot everything you taught me ({count}).", "forgot", forgot=count
            )
        if command.kind == "list":
            known = self.store.of(user_id)
            if not known:
                return Reply("You haven't taught me anything yet.", "listed")
            said = "; ".join(p.statement().describe() for p in known)
            return Reply(f"I know that {said}.", "listed")
        # learn my preferences
        kinds = self._guided_kinds(user_id)
        first, rest = kinds[0], kinds[1:]
        self._pending[user_id] = _Pending(first, None, None, ts, "guided", rest)
        self.questions_asked += 1
        return Reply(f"Let's do {len(kinds)} quick questions. {QUESTIONS[first]}", "question")

    def _guided_kinds(self, user_id: str) -> list[str]:
        """2–4 kinds to ask about, from the domains this user talks about most."""
        low, high = self.config.guided_questions
        known = {p.kind for p in self.store.of(user_id)}
        kinds: list[str] = []
        domains = self._users.get(user_id, _User()).domains
        for domain, _ in domains.most_common():
            for kind in DOMAIN_KINDS.get(domain, ()):
                if kind not in kinds and kind not in known:
                    kinds.append(kind)
        for kind in _FILL:
            if len(kinds) >= low:
                break
            if kind not in kinds:
                kinds.append(kind)
        return kinds[: max(low, min(high, len(kinds)))]

    def _answer(
        self,
        pending: _Pending,
        text: str,
        command: Command | None,
        user_id: str,
        ts: float,
        turn_id: str | None,
    ) -> Reply | None:
        """The reply to an answer to the pending question; None when the user moved on
        to a request instead of answering."""
        if command is not None and command.kind == "no":
            del self._pending[user_id]
            return Reply("OK.", "declined")
        if command is not None and command.kind == "yes" and pending.source == "question":
            pending.ts = ts
            what = f"by {pending.about}" if pending.about else ""
            return Reply(f"What do you mean {what}?".replace("  ", " "), "question")
        if command is not None and command.kind != "yes":
            del self._pending[user_id]
            return None  # "forget that", "what do you know": handled as commands
        core = normalize_utterance(text)
        if _REQUEST_START.match(core) and not _ANSWER_START.match(core):
            # not an answer: the user went on with a request (or a question of their own)
            del self._pending[user_id]
            return None
        statement = None if is_vague(text) else self._read_answer(pending, text, core)
        stored = None
        if statement is not None and self._renames_known(statement):
            statement = None
        if statement is not None:
            statement = self._snap(statement)
            stored = self.store.add(
                user_id, statement, turn_id=turn_id, ts=ts, source=pending.source
            )
        said = f"Got it: {statement.describe()}." if statement else "OK, never mind."
        if statement is not None:
            pending.queue = [k for k in pending.queue if k != statement.kind]
        if pending.queue:
            kind = pending.queue.pop(0)
            self._pending[user_id] = _Pending(kind, None, None, ts, "guided", pending.queue)
            self.questions_asked += 1
            return Reply(f"{said} {QUESTIONS[kind]}", "question", stored)
        del self._pending[user_id]
        if pending.source == "guided":
            said += " Thanks, that's all."
        return Reply(said, "stored" if stored else "unclear", stored)

    def _renames_known(self, statement: Statement) -> bool:
        """Whether an alias would take over a name the assistant already knows ("by lamp I
        mean the lamp in the bedroom"): that is a default for an ambiguous name, which
        depends on the room; an alias must be a word of the user's own."""
        if statement.kind != "alias" or not statement.key:
            return False
        key = normalize_utterance(statement.key)
        bare = key.split(" ", 1)[1] if key.startswith(("the ", "my ", "our ")) else key
        return bare in self._names or key in self._names

    def _snap(self, statement: Statement) -> Statement:
        """A taught name the recogniser got slightly wrong, put right: the artist or the
        device name the assistant knows that it is close to ("mario" → marlow)."""
        known = self.artists if statement.kind == "artist" else self._names
        if statement.kind not in ("artist", "alias") or not known:
            return statement
        value = normalize_utterance(statement.value)
        det = next((d for d in ("the ", "my ", "our ") if value.startswith(d)), "")
        bare = value[len(det) :]
        if bare in known or value in known:
            return statement
        found = process.extractOne(bare, known, scorer=fuzz.ratio)
        if found is None or found[1] < SNAP_RATIO:
            return statement
        return Statement(statement.kind, det + str(found[0]), statement.key, statement.like)

    def _read_answer(self, pending: _Pending, text: str, core: str) -> Statement | None:
        kind = pending.kind
        if kind is None:
            stated = parse_statement(text, artists=self.artists)
            if stated is not None:
                return stated
            kind = "alias"
        answer = parse_answer(kind, text, about=pending.about, artists=self.artists)
        if answer is None or pending.failed is None or answer.kind != "alias":
            return answer
        if pending.about and not _REQUEST_START.match(normalize_utterance(answer.value)):
            return answer  # a name for the words asked about: "the ceiling light"
        # "I meant turn on the ceiling light": the answer restates the whole request; the
        # words that differ from the failed one are the alias.
        return _restated(pending.failed, answer.value, pending.about) or answer

    # -- what the assistant did -----------------------------------------------------------

    def observe(self, event: TurnEvent) -> str | None:
        """Note a handled request; a question to add to its answer when it is a teachable
        moment and the user's budget allows one."""
        user_id = event.user_id
        if not user_id:
            return None
        user = self._users.setdefault(user_id, _User())
        if event.nlu.domain:
            user.domains[event.nlu.domain] += 1
        text = normalize_utterance(event.asr.text)
        unknown = ambiguous = None
        entities = event.resolution.entities if event.resolution else []
        if event.resolution is not None and event.resolution.status == "ambiguous":
            ambiguous = next((e.value for e in entities if e.value), None)
        elif event.resolution is not None and event.resolution.status == "no_match":
            unknown = next((e.value for e in entities if e.entity_id is None and e.value), None)
        ok = event.response.status == "success"
        for e in entities:
            if e.entity_id and e.value:
                name = normalize_utterance(e.value)
                self._names.add(name)
                self._words.update(w for word in name.split() for w in (word, word.rstrip("s")))
        if unknown and self._misheard(normalize_utterance(unknown)):
            unknown = None
        now = _Recent(
            text,
            ok,
            event.ts,
            event.nlu.intent,
            unknown,
            ambiguous,
            event.barge_in_ms is not None,
        )
        previous = user.recent[-1] if user.recent else None
        user.recent.append(now)
        moment = self._moment(now, previous, event)
        if moment is None or user_id in self._pending:
            return None
        kind, about, failed = moment
        if about and failed and kind == "alias":
            about = _widen(about, failed)
        self.moments += 1
        vague = not about or bool(now.ambiguous and kind != "place")
        if not self._may_ask(user, about, failed or "", event.ts, vague):
            return None
        user.asks.append(event.ts)
        if not about or (now.ambiguous and kind != "place"):
            user.vague_asks.append(event.ts)
        user.asked_about[about or failed or ""] = event.ts
        self._pending[user_id] = _Pending(kind, about, failed, event.ts, "question")
        self.questions_asked += 1
        if kind == "place" and about:
            return f"Would you like to teach me which {about} you mean?"
        if about:
            return f"Would you like to teach me what you mean by {about}?"
        return "Would you like to teach me what you meant?"

    def _misheard(self, phrase: str) -> bool:
        """Whether an unknown name was misheard rather than meant: it is close to a name the
        assistant knows ("coffee major"), or one of its words is close to, but not, a word
        of a known name ("the ramps"); or nothing is left of it but filler ("thanks").
        A mishearing is for the rewriters to fix, not a word of the user's own to ask about."""
        words = [w for w in phrase.split() if w not in _FILLER]
        if not words:
            return True
        if not self._names:
            return False
        found = process.extractOne(phrase, self._names, scorer=fuzz.ratio)
        if found is not None and found[1] >= MISHEARD_RATIO:
            return True
        for word in words:
            if len(word) < 3 or word in self._words or word.rstrip("s") in self._words:
                continue
            near = process.extractOne(word, self._words, scorer=fuzz.ratio)
            if near is not None and near[1] >= MISHEARD_RATIO:
                return True
        return False

    def note_barge_in(self, user_id: str | None) -> None:
        """The user talked over the last answer (the assistant learns it after the turn)."""
        user = self._users.get(user_id or "")
        if user is not None and user.recent:
            user.recent[-1].barged = True

    def _moment(
        self, now: _Recent, previous: _Recent | None, event: TurnEvent
    ) -> tuple[str | None, str | None, str | None] | None:
        """(kind of answer wanted, what about, the failed request) or None."""
        sure = (event.asr.confidence or 0.0) >= self.config.min_confidence
        if not now.ok and sure and now.ambiguous:
            kind = "place" if now.intent == "HassGetWeather" else "alias"
            return kind, normalize_utterance(now.ambiguous), now.text
        if not now.ok and sure and now.unknown:
            return "alias", normalize_utterance(now.unknown), now.text
        recent = previous is not None and now.ts - previous.ts <= self.config.repeat_window_s
        if not recent or previous is None:
            return None
        similar = fuzz.ratio(now.text, previous.text) >= 60 or (
            now.intent is not None and now.intent == previous.intent
        )
        if not now.ok and not previous.ok and similar:
            return None, previous.unknown, previous.text  # the same request failing twice
        if _NO_START.match(now.text) or event.feedback == "negative":
            return None, None, previous.text  # explicit dissatisfaction
        if previous.barged and similar and now.text != previous.text:
            return None, None, previous.text  # interrupted, then said differently
        return None

    def _may_ask(self, user: _User, about: str | None, failed: str, ts: float, vague: bool) -> bool:
        """Whether the budget lets the teacher ask ``user`` now (``vague``: a question
        with no words of the user's own to ask about, of which fewer are allowed)."""
        config = self.config
        week = [t for t in user.asks if ts - t < WEEK_S]
        user.asks[:] = week
        if len(week) >= config.asks_per_week:
            return False
        if week and ts - week[-1] < config.min_gap_s:
            return False
        if vague:
            user.vague_asks[:] = [t for t in user.vague_asks if ts - t < WEEK_S]
            if len(user.vague_asks) >= config.vague_asks_per_week:
                return False
        asked = user.asked_about.get(about or failed)
        return asked is None or ts - asked >= WEEK_S

    def forget_user(self, user_id: str) -> int:
        """Forget ``user_id``'s preferences and what the teacher noted about them."""
        self._pending.pop(user_id, None)
        self._users.pop(user_id, None)
        return self.store.forget_user(user_id)


_FILLER = frozenset(
    ("the", "my", "our", "a", "an", "me", "please", "thanks", "thank", "you", "uh", "um", "er",
     "set", "put", "turn", "switch", "make", "get", "it", "this", "that", "now", "on", "off",
     "up", "down", "in", "at", "to")
)  # fmt: skip
_STOP = frozenset(
    ("in", "on", "to", "at", "for", "off", "and", "please", "now", "then", "from", "with", "by",
     "up", "down")
)  # fmt: skip


def _widen(about: str, text: str) -> str:
    """The whole name ``about`` is part of in ``text``: hassil may take "big" of "turn on
    the big light" for an area; the user's word is "the big light"."""
    words, part = text.split(), about.split()
    for start in range(len(words) - len(part) + 1):
        if words[start : start + len(part)] == part:
            end = start + len(part)
            while end < len(words) and words[end] not in _STOP:
                end += 1
            if start > 0 and words[start - 1] in ("the", "my", "our"):
                start -= 1
            return " ".join(words[start:end])
    return about


def _restated(failed: str, answer: str, about: str | None) -> Statement | None:
    """The alias in a restated request: the failed request's words that the answer
    replaced ("turn on the big light" / "turn on the ceiling light" → big light →
    ceiling light), widened to the name the assistant did not know."""
    a, b = failed.split(), normalize_utterance(answer).split()
    blocks = [
        op for op in SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op[0] != "equal"
    ]
    same = sum(
        i2 - i1
        for op, i1, i2, _, _ in SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        if op == "equal"
    )
    if len(blocks) != 1 or blocks[0][0] != "replace" or same * 2 < len(a):
        # not one name put for another: the whole failed request meant the whole answer
        return Statement("alias", " ".join(b), failed) if b and b != a else None
    _, i1, i2, j1, j2 = blocks[0]
    if about:
        words = about.split()
        for start in range(len(a) - len(words) + 1):
            if a[start : start + len(words)] == words and start <= i1 and i2 <= start + len(words):
                j1 -= i1 - start
                j2 += start + len(words) - i2
                i1, i2 = start, start + len(words)
                break
    # keep a leading "the"/"my" with the name on both sides
    while i1 > 0 and j1 > 0 and a[i1 - 1] == b[j1 - 1] and a[i1 - 1] in ("the", "my", "our"):
        i1, j1 = i1 - 1, j1 - 1
    key, value = " ".join(a[i1:i2]), " ".join(b[max(j1, 0) : j2])
    if not key or not value or key == value:
        return None
    return Statement("alias", value, key)
