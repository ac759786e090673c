"""The reference assistant: wake → speech → intent → resolution → result, one turn event each."""

from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from selflearn.assistant.home import Home, VoiceDevice
from selflearn.assistant.media import Catalogue
from selflearn.assistant.nlu import IntentMatcher, NluResult
from selflearn.assistant.resolve import EntityResolver, ResolutionResult
from selflearn.assistant.result import ActionResult, Executor, Timer
from selflearn.assistant.speech import SpeechChannel, Transcript
from selflearn.assistant.wake import WakeDetector
from selflearn.errors import ConfigError
from selflearn.logs.schema import TurnEvent
from selflearn.rewrite.base import (
    Rewrite,
    RewriteRequest,
    SupportsRewrite,
    normalize_utterance,
    rewrite_within,
)

if TYPE_CHECKING:
    from selflearn.teach.teacher import Reply, Teacher

__all__ = ["Assistant", "NluFallback", "Outcome", "Turn"]

REWRITE_BUDGET_S = 0.05  # a rewriter slower than this is ignored for the turn (fail open)
# A rewrite that would redo what this device just did, this soon after, is dropped: someone
# who speaks again right after an action, in words that failed, is correcting it.
REDO_WINDOW_S = 60.0
TEACH_INTENT = "SelflearnTeach"  # the intent a turn the teacher answered is logged with


class NluFallback(Protocol):
    """A second matcher for what hassil's templates do not match (Home Assistant's
    fallback agents); None when it does not understand either."""

    def match(self, text: str, area_name: str | None = None) -> NluResult | None: ...


@dataclass(frozen=True)
class Outcome:
    """What the assistant made of one text: understanding, resolution, action."""

    nlu: NluResult
    resolution: ResolutionResult | None
    action: ActionResult
    fallback: bool = False  # the fallback matcher, not hassil, understood it


@dataclass(frozen=True)
class Turn:
    """One handled request: the turn event and what the assistant did to the home."""

    event: TurnEvent
    spoken: str
    nlu: NluResult
    resolution: ResolutionResult | None
    action: ActionResult
    changed: dict[str, str] = field(default_factory=dict)
    rewrite: Rewrite | None = None
    fallback: bool = False  # the fallback matcher, not hassil, understood it
    taught: Reply | None = None  # the teacher answered it (a preference, a command, an answer)
    question: str | None = None  # the teacher's question added to the answer

    def stages(self) -> dict[str, Any]:
        """Every stage's output, for people debugging a failed command."""
        data = self.event.to_dict()
        return {
            "spoken": self.spoken,
            "wake": data["wake"],
            "asr": data["asr"],
            "rewrite": data["rewrite"],
            "nlu": data["nlu"],
            "resolution": data["resolution"],
            "response": data["response"],
            "changed": self.changed,
            "turn_id": data["turn_id"],
        }


class Assistant:
    """A smart-home assistant over Home Assistant's intent matcher and a simulated home.

    >>> assistant = Assistant.create(speech=False)
    >>> turn = assistant.handle("turn on the desk lamp", device_id="display.office")
    >>> turn.event.nlu.intent, turn.event.response.status, turn.changed
    ('HassTurnOn', 'success', {'light.office_desk_lamp': 'on'})
    """

    def __init__(
        self,
        home: Home,
        catalogue: Catalogue,
        matcher: IntentMatcher,
        channel: SpeechChannel | None,
        wake: WakeDetector,
        rewriter: SupportsRewrite | None = None,
        rewrite_budget_s: float = REWRITE_BUDGET_S,
        fallback: NluFallback | None = None,
    ) -> None:
        self.home = home
        self.catalogue = catalogue
        self.matcher = matcher
        self.resolver = EntityResolver(home, catalogue)
        self.executor = Executor(home)
        self.channel = channel
        self.wake = wake
        self.rewriter = rewriter
        self.rewrite_budget_s = rewrite_budget_s
        self.fallback = fallback
        self.teacher: Teacher | None = None  # teaching (selflearn.teach), when switched on
        self.fail_opens = 0
        self.fallbacks = 0  # requests the fallback matcher understood after hassil did not
        self.redos_refused = 0  # rewrites dropped because they would redo the last action
        self.rewrites_declined = 0  # rewrites dropped because the resolver had to guess
        self._last_action: dict[str, tuple[float, str, dict[str, Any]]] = {}

    @classmethod
    def create(
        cls,
        home: Home | None = None,
        catalogue: Catalogue | None = None,
        *,
        speech: bool = True,
        wake: WakeDetector | None = None,
        rewriter: SupportsRewrite | None = None,
    ) -> Assistant:
        """An assistant over ``home`` (default: the shipped home), speech channel on or off;
        ``rewriter`` (a rewrite table, a learned rewriter) runs before intent matching."""
        home = home if home is not None else Home.default()
        return cls(
            home,
            catalogue if catalogue is not None else Catalogue.default(),
            IntentMatcher.from_home(home),
            SpeechChannel.fitted() if speech else None,
            wake or WakeDetector(),
            rewriter,
        )

    def _rewrite(self, request: RewriteRequest) -> Rewrite | None:
        """The rewriter's answer, or None on error or past the time budget (fail open)."""
        if self.rewriter is None or not request.text:
            return None
        # a rewriter that keeps its own time budget (selflearn's does) is held to that one
        budget = max(self.rewrite_budget_s, float(getattr(self.rewriter, "budget_s", 0.0)))
        answer, failed = rewrite_within(self.rewriter, request, budget)
        if failed:
            self.fail_opens += 1
            return None
        if answer is None or (answer.target == request.text and answer.choice is None):
            return None
        return answer  # the words as heard, where chosen among others, carry the choice

    def _redo_match(
        self, target: str, device_id: str, area_name: str | None, ts: float
    ) -> tuple[bool, NluResult | None]:
        """Would ``target`` ask for exactly what this device did moments ago? With what
        ``target`` matched, where it had to be matched to tell (it is not matched twice)."""
        last = self._last_action.get(device_id)
        if last is None or not 0.0 <= ts - last[0] <= REDO_WINDOW_S:
            return False, None
        nlu = self.matcher.match(target, area_name)
        return (nlu.intent, dict(nlu.slots)) == (last[1], last[2]), nlu

    def _understand(
        self,
        text: str,
        device: VoiceDevice,
        area_name: str | None,
        resolver: EntityResolver,
        *,
        fallback: bool = True,
        matched: NluResult | None = None,
        user_id: str | None = None,
    ) -> tuple[NluResult, ResolutionResult | None, bool]:
        """What ``text`` means and what it is about, and whether the fallback matcher (not
        hassil) understood it. ``matched``: what the matcher already made of ``text``."""
        if matched is not None:
            nlu = matched
        else:
            nlu = self.matcher.match(text, area_name) if text else NluResult(intent=None)
        used = False
        if nlu.intent is None and text and fallback and self.fallback is not None:
            second = self.fallback.match(text, area_name)
            if second is not None and second.intent:
                nlu, used = second, True
        return nlu, resolver.resolve(nlu, device, media_class=self._media_class(user_id)), used

    def _media_class(self, user_id: str | None) -> str | None:
        """The media class ``user_id`` taught they prefer, if any."""
        if self.teacher is None or not user_id:
            return None
        taught = [p for p in self.teacher.store.of(user_id, "media") if p.like]
        return taught[-1].value if taught else None

    def snapshot(self) -> tuple[Home, list[Timer]]:
        """A copy of the home and the timers, for :meth:`preview` after the fact."""
        return self.home.copy(), copy.deepcopy(self.executor.timers)

    def preview(
        self,
        text: str,
        *,
        device_id: str,
        ts: float,
        state: tuple[Home, list[Timer]] | None = None,
        fallback: bool = True,
    ) -> Outcome:
        """What ``text`` (as recognised) would do, on a copy of the home: nothing changes.

        ``state`` is a :meth:`snapshot` to judge against (default: the home now). The
        simulator and the A/B harness use it to judge what the original words or the
        original recognition would have done on the same turn; ``fallback=False`` judges
        it by hassil alone.
        """
        device = self._device(device_id)
        home, timers = state if state is not None else (self.home, self.executor.timers)
        home = home.copy()
        executor = Executor(home)
        executor.timers = copy.deepcopy(timers)
        area_name = home.area_name(device.area)
        nlu, resolution, used = self._understand(
            text, device, area_name, EntityResolver(home, self.catalogue), fallback=fallback
        )
        now = datetime.fromtimestamp(ts)
        return Outcome(nlu, resolution, executor.execute(nlu, resolution, now, area_name), used)

    def _device(self, device_id: str) -> VoiceDevice:
        device = self.home.device(device_id)
        if device is None:
            known = ", ".join(d.id for d in self.home.devices)
            raise ConfigError("Assistant.handle", "device_id", device_id, f"one of: {known}")
        return device

    def _transcribe(self, spoken: str, rng: random.Random, noise: float) -> Transcript:
        if self.channel is None:
            return Transcript(spoken, 1.0, [], 0)
        return self.channel.transcribe(spoken, rng, noise=noise * self.channel.utterance_noise(rng))

    def handle(
        self,
        spoken: str,
        *,
        device_id: str,
        user_id: str | None = None,
        session_id: str | None = None,
        ts: float | None = None,
        rng: random.Random | None = None,
        noise: float = 1.0,
        intended: bool = True,
        turn_id: str | None = None,
    ) -> Turn:
        """Handle one utterance heard by ``device_id``; the home's states change as a result.

        ``noise`` is the speaker's clarity factor for the speech channel (the room's own
        noise level multiplies it); ``intended`` is False for background speech that woke
        the device by mistake.
        """
        device = self._device(device_id)
        if not spoken.strip():
            raise ConfigError("Assistant.handle", "spoken", spoken, "a non-empty utterance")
        rng = rng or random.Random()
        ts = ts if ts is not None else time.time()
        now = datetime.fromtimestamp(ts)
        room = self.home.area(device.area)
        area_name = room.name if room else None

        wake_score = self.wake.score(rng, intended=intended, noise=noise)
        heard = self._transcribe(spoken, rng, noise * (room.noise if room else 1.0))
        turn_id = turn_id or f"{rng.getrandbits(64):016x}"
        if self.teacher is not None and heard.text:
            reply = self.teacher.hear(heard.text, user_id=user_id, ts=ts, turn_id=turn_id)
            if reply is not None:
                return self._teaching_turn(
                    reply, spoken, heard, device, user_id, session_id, ts, wake_score, turn_id
                )
        # The home as it was when the user spoke: the context a learner interprets against.
        before = self.home.states()
        in_area = {e.id: e.state for e in self.home.entities if e.area == device.area}
        context: dict[str, Any] = {
            "area": area_name,
            "device_states": in_area,
            "local_time": f"{now:%H:%M}",
            "weekday": now.weekday(),
        }
        rewrite = self._rewrite(
            RewriteRequest(
                heard.text,
                user_id,
                device.id,
                device.type,
                area_name,
                context,
                heard.confidence,
                ts=ts,
            )
        )
        # Where selflearn chose among close interpretations it says which, and with what
        # probability; choosing the words as heard is acting on them unchanged. The choice
        # is logged even where the assistant then declines the rewrite (a redo, a guess):
        # what followed is the outcome of that pick, and leaving those turns out would skew
        # the off-policy estimates (the turns left would over-count explorations).
        choice = rewrite.choice if rewrite is not None else None
        if rewrite is not None and rewrite.target == rewrite.source == normalize_utterance(
            heard.text
        ):
            rewrite = None
        matched = None
        if rewrite is not None:
            redo, matched = self._redo_match(rewrite.target, device.id, area_name, ts)
            if redo:
                self.redos_refused += 1
                rewrite, matched = None, None
        understood = None
        if rewrite is not None:
            understood = self._understand(
                rewrite.target, device, area_name, self.resolver, matched=matched, user_id=user_id
            )
            if understood[1] is not None and understood[1].guess:
                # The rewrite's words fit several things and the resolver had to pick one
                # (a device name several share, a title with a near twin): the rewrite is
                # one guess already, and a second on top of it acts on the wrong thing too
                # often. The original words are handled instead.
                self.rewrites_declined += 1
                rewrite, understood = None, None
        if understood is None:
            understood = self._understand(
                heard.text, device, area_name, self.resolver, user_id=user_id
            )
        nlu, resolution, used = understood
        action = self.executor.execute(nlu, resolution, now, area_name)
        self.fallbacks += used
        if action.status == "success" and nlu.intent:
            self._last_action[device.id] = (ts, nlu.intent, dict(nlu.slots))
        targets = {t: before[t] for t in (resolution.targets if resolution else ()) if t in before}
        event = TurnEvent.from_dict(
            {
                **self._heard(turn_id, session_id, user_id, device, ts, wake_score, heard),
                "nlu": {
                    "intent": nlu.intent,
                    "domain": nlu.domain,
                    "slots": nlu.slots,
                    "confidence": nlu.confidence,
                },
                "resolution": None
                if resolution is None
                else {
                    "status": resolution.status,
                    "entities": [
                        {"slot": s, "value": v, "entity_id": e, "score": sc}
                        for s, v, e, sc in resolution.entities
                    ],
                },
                "response": {
                    "text": action.text,
                    "status": action.status,
                    "duration_ms": action.duration_ms,
                },
                "context": {**context, "device_states": {**in_area, **targets}},
                "rewrite": rewrite.as_event() if rewrite else None,
                "choice": choice,
            }
        )
        question = self.teacher.observe(event) if self.teacher is not None else None
        if question:
            said = f"{action.text.rstrip('.!? ')}. {question}"
            response = event.response.model_copy(
                update={"text": said, "duration_ms": len(said.split()) * 330}
            )
            event = event.model_copy(update={"response": response})
        return Turn(
            event,
            spoken,
            nlu,
            resolution,
            action,
            dict(action.changed),
            rewrite,
            used,
            question=question,
        )

    def _heard(
        self,
        turn_id: str,
        session_id: str | None,
        user_id: str | None,
        device: VoiceDevice,
        ts: float,
        wake_score: float,
        heard: Transcript,
    ) -> dict[str, Any]:
        """The turn event's fields up to what was recognised: who, where, when, the words."""
        return {
            "turn_id": turn_id,
            "session_id": session_id,
            "user_id": user_id,
            "device_id": device.id,
            "device_type": device.type,
            "ts": ts,
            "wake": {"word": self.wake.word, "score": wake_score},
            "asr": {
                "text": heard.text,
                "confidence": heard.confidence,
                "nbest": [{"text": t, "confidence": c} for t, c in heard.nbest],
            },
        }

    def _teaching_turn(
        self,
        reply: Reply,
        spoken: str,
        heard: Transcript,
        device: VoiceDevice,
        user_id: str | None,
        session_id: str | None,
        ts: float,
        wake_score: float,
        turn_id: str,
    ) -> Turn:
        """A turn the teacher answered: nothing in the home changes."""
        nlu = NluResult(intent=TEACH_INTENT, domain="selflearn", confidence=1.0)
        action = ActionResult(reply.text, "success")
        room = self.home.area(device.area)
        event = TurnEvent.from_dict(
            {
                **self._heard(turn_id, session_id, user_id, device, ts, wake_score, heard),
                "nlu": {
                    "intent": TEACH_INTENT,
                    "domain": "selflearn",
                    "slots": {},
                    "confidence": 1.0,
                },
                "response": {
                    "text": action.text,
                    "status": "success",
                    "duration_ms": action.duration_ms,
                },
                "context": {"area": room.name if room else None},
            }
        )
        return Turn(event, spoken, nlu, None, action, taught=reply)
