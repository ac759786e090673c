"""The selflearn conversation agent: it wraps another agent and learns from every turn.

For each request it asks the service what to act on (a learned rewrite, within the budget;
on any error, timeout or no answer the words go on unchanged), hands the words to the
wrapped agent with the same conversation, device and satellite, and returns its answer
unchanged. The turn, built from what Home Assistant knows, is queued for the service.
A reaction to the turn before ("no, that's wrong", "thanks") is recorded on that turn;
teaching ("by the big light I mean the desk lamp") goes to the service's teacher, whose
answer is spoken.
"""

from __future__ import annotations

import inspect
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

from homeassistant.components import conversation
from homeassistant.components.conversation.agent_manager import async_get_agent
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.util.ulid import ulid_now

from .api import ServiceError
from .const import (
    CONF_AGENT,
    CONF_BUDGET_MS,
    CONF_SHADOW,
    CONF_WINDOW_S,
    DEFAULT_AGENT,
    DEFAULT_BUDGET_MS,
    DEFAULT_WINDOW_S,
    DOMAIN,
    FEEDBACK_WINDOW_S,
)
from .runtime import Runtime
from .turn import Where, build_event, locate, speech_of

_LOGGER = logging.getLogger(__name__)
# Home Assistant 2025.5 and later pass the satellite to agents; 2025.4 only the device.
_CONVERSE_TAKES_SATELLITE = (
    "satellite_id" in inspect.signature(conversation.async_converse).parameters
)
_SHORT_REACTION = 4  # words: "no, that's wrong", "thanks": a verdict, not a request


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddEntitiesCallback
) -> None:
    async_add_entities([SelflearnAgent(entry)])


@dataclass
class _Request:
    """One request as the agent handles it: what came in, where, from whom, when."""

    user_input: conversation.ConversationInput
    where: Where
    user_id: str | None
    turn_id: str
    started: float


@dataclass
class _Last:
    turn_id: str
    ts: float
    asked: bool


class SelflearnAgent(conversation.ConversationEntity):
    """An Assist agent that puts selflearn in front of another agent."""

    _attr_has_entity_name = True
    _attr_name = None
    _attr_supported_features = conversation.ConversationEntityFeature.CONTROL

    def __init__(self, entry: ConfigEntry) -> None:
        self.entry = entry
        self._attr_unique_id = f"{entry.entry_id}-agent"
        self._last: dict[str, _Last] = {}
        self._missing_reported = False

    @property
    def runtime(self) -> Runtime:
        return self.entry.runtime_data

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        return MATCH_ALL

    def _option(self, key: str, default: Any) -> Any:
        return self.entry.options.get(key, self.entry.data.get(key, default))

    @property
    def wrapped(self) -> str:
        """The agent to hand requests to: the one chosen, or Home Assistant's own when it
        is this agent or no longer installed (a request is never lost to a setting)."""
        agent = self._option(CONF_AGENT, DEFAULT_AGENT) or DEFAULT_AGENT
        if agent == self.entity_id:
            return DEFAULT_AGENT
        if agent != DEFAULT_AGENT and async_get_agent(self.hass, agent) is None:
            if not self._missing_reported:
                _LOGGER.warning("the agent %s is not installed; using Home Assistant's", agent)
                self._missing_reported = True
            return DEFAULT_AGENT
        return agent

    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        started = time.time()
        runtime = self.runtime
        turn_id = ulid_now()
        satellite_id = getattr(user_input, "satellite_id", None)
        try:
            where = locate(self.hass, user_input.device_id, satellite_id)
        except Exception:  # never let our bookkeeping fail the request
            _LOGGER.exception("could not place the request; logged without its room")
            where = Where(user_input.device_id or "homeassistant", "device")
        user_id = user_input.context.user_id
        request = _Request(user_input, where, user_id, turn_id, started)
        shadow = bool(self._option(CONF_SHADOW, False))
        key = user_input.conversation_id or where.device_id
        last = self._last.get(key)
        if last is not None and started - last.ts > FEEDBACK_WINDOW_S:
            last = None
        said = await self._read(request)
        text, rewrite, choice = user_input.text, None, None
        if said is not None:
            feedback = said.get("feedback")
            if said.get("teach") and not shadow:
                return await self._teach(request, last)
            if feedback and last is not None and not last.asked:
                self._judge(last.turn_id, feedback)
            target = said.get("rewrite")
            if target and not shadow and target != text:
                text = target
                rewrite = {
                    "from": user_input.text,
                    "to": target,
                    "layer": said.get("layer") or "global",
                    "score": said.get("score"),
                }
                runtime.count("rewrites_applied")
            elif target:
                runtime.count("shadow_rewrites")
            if not shadow and isinstance(said.get("choice"), dict):
                # the service chose among readings it held close: logged with the turn, so
                # its policy can be judged and learned from what follows
                choice = said["choice"]
            if (
                feedback
                and rewrite is None
                and not shadow
                and not said.get("gave_up")
                and last is not None
                and not last.asked
                and len(user_input.text.split()) <= _SHORT_REACTION
            ):
                reply = (
                    "Sorry about that. I've noted it."
                    if feedback == "negative"
                    else "Glad to help."
                )
                return self._answer_self(request, reply, "selflearn.feedback")
        window = float(self._option(CONF_WINDOW_S, DEFAULT_WINDOW_S))
        runtime.watcher.begin(user_input.context, turn_id, started)
        try:
            result = await self._converse(user_input, text, satellite_id)
        finally:  # the watch ends with the request, whatever the wrapped agent did
            acted = runtime.watcher.acted(user_input.context, window)
        # A conversation Home Assistant opened for this one request is not a session: the
        # restatement after a failure comes in a new one. Only a carried-over id is kept;
        # otherwise selflearn sessionizes by device and time (DESIGN §3.1).
        session = user_input.conversation_id
        self._log(
            request, session, result.response, rewrite, watched=acted, window=window,
            choice=choice,
        )  # fmt: skip
        speech = speech_of(result.response)
        asked = result.continue_conversation or speech.rstrip().endswith("?")
        self._remember(key, result.conversation_id, turn_id, started, asked)
        return result

    async def _read(self, asked: _Request) -> dict[str, Any] | None:
        """The service's reading of the words, or None (fail open) within the budget."""
        user_input, where = asked.user_input, asked.where
        budget = float(self._option(CONF_BUDGET_MS, DEFAULT_BUDGET_MS)) / 1000.0
        request = {
            "text": user_input.text,
            "user_id": asked.user_id,
            "device_id": where.device_id,
            "device_type": where.device_type,
            "area": where.area,
            "context": {
                "device_states": where.states,
                "language": user_input.language,
                "conversation_id": user_input.conversation_id,
            },
            "read_words": True,
        }
        try:
            return await self.runtime.client.rewrite(request, budget)
        except ServiceError as err:
            self.runtime.count("fail_opens")
            _LOGGER.debug("no rewrite (the words go on unchanged): %s", err)
        except Exception:
            self.runtime.count("fail_opens")
            _LOGGER.exception("no rewrite (the words go on unchanged)")
        return None

    async def _converse(
        self, user_input: conversation.ConversationInput, text: str, satellite_id: str | None
    ) -> conversation.ConversationResult:
        kwargs: dict[str, Any] = {
            "language": user_input.language,
            "agent_id": self.wrapped,
            "device_id": user_input.device_id,
            "extra_system_prompt": user_input.extra_system_prompt,
        }
        if _CONVERSE_TAKES_SATELLITE:
            kwargs["satellite_id"] = satellite_id
        return await conversation.async_converse(
            self.hass, text, user_input.conversation_id, user_input.context, **kwargs
        )

    async def _teach(
        self, request: _Request, last: _Last | None
    ) -> conversation.ConversationResult:
        # Without a signed-in user (a voice satellite), the satellite stands for its speaker.
        speaker = request.user_id or f"device:{request.where.device_id}"
        about = last.turn_id if last is not None else None
        try:
            answer = await self.runtime.client.teach(speaker, request.user_input.text, about)
            reply = str(answer.get("reply") or "OK.")
            self.runtime.count("taught")
        except ServiceError as err:
            _LOGGER.warning("teaching did not reach the service: %s", err)
            reply = (
                "Sorry, I couldn't take that in."
                if err.status == 422
                else "Sorry, I can't learn that right now."
            )
        return self._answer_self(request, reply, "selflearn.teach")

    def _answer_self(
        self, request: _Request, reply: str, intent_type: str
    ) -> conversation.ConversationResult:
        """Answer the request here (a verdict, teaching), and log it as a turn."""
        user_input = request.user_input
        handled = intent.Intent(
            self.hass,
            DOMAIN,
            intent_type,
            {},
            user_input.text,
            user_input.context,
            user_input.language,
        )
        response = intent.IntentResponse(language=user_input.language, intent=handled)
        response.async_set_speech(reply)
        window = float(self._option(CONF_WINDOW_S, DEFAULT_WINDOW_S))
        self._log(request, user_input.conversation_id, response, None, watched=False, window=window)
        return conversation.ConversationResult(
            response=response, conversation_id=user_input.conversation_id or ulid_now()
        )

    def _judge(self, turn_id: str, feedback: str) -> None:
        event = self.runtime.queue.waiting(turn_id)
        if event is None:
            return  # already sent: the learners read the reaction from this turn's words
        event["feedback"] = feedback
        self.runtime.queue.touched()
        self.runtime.count("feedback")

    def _remember(
        self, key: str, session: str | None, turn_id: str, ts: float, asked: bool
    ) -> None:
        last = _Last(turn_id, ts, asked)
        self._last[key] = last
        if session:
            self._last[session] = last
        if len(self._last) > 1000:
            for stale in [k for k, v in self._last.items() if ts - v.ts > FEEDBACK_WINDOW_S]:
                del self._last[stale]

    def _log(
        self,
        request: _Request,
        session: str | None,
        response: intent.IntentResponse,
        rewrite: dict[str, Any] | None,
        *,
        watched: bool,
        window: float,
        choice: dict[str, Any] | None = None,
    ) -> None:
        try:
            event = build_event(
                turn_id=request.turn_id,
                ts=request.started,
                heard=request.user_input.text,
                conversation_id=session,
                user_id=request.user_id,
                where=request.where,
                language=request.user_input.language,
                response=response,
                rewrite=rewrite,
            )
            if watched:
                event["after_action"] = []
            if choice is not None:
                event["choice"] = choice
            # held for the window: the user's hands and their next words judge it
            self.runtime.queue.add(event, time.time() + max(window, 0.0))
            self.runtime.count("turns_logged")
        except Exception:
            _LOGGER.exception("could not log the turn")
