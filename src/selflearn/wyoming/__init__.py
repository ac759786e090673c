"""selflearn in Wyoming pipelines (Rhasspy 3, Home Assistant's Wyoming integration, the Open
Home Foundation's speech and agent services).

- :mod:`~selflearn.wyoming.asr` — a speech-to-text proxy: the real recogniser's transcript,
  rewritten before anyone acts on it;
- :mod:`~selflearn.wyoming.conversation` — a conversation proxy in front of another Wyoming
  intent or handle service, logging every turn;
- :mod:`~selflearn.wyoming.assistant` — the reference assistant (hassil over Home Assistant's
  intents) as a Wyoming intent and handle service;
- :mod:`~selflearn.wyoming.source` — where a proxy's rewrites come from (learned artefacts in
  process, or the service) and where its turns go, failing open within a budget.

``selflearn wyoming asr|conversation|assistant`` runs them.
"""

from selflearn.wyoming.asr import AsrProxy
from selflearn.wyoming.assistant import AssistantService
from selflearn.wyoming.conversation import ConversationProxy
from selflearn.wyoming.source import LocalSource, ServiceSource, Source

__all__ = [
    "AsrProxy",
    "AssistantService",
    "ConversationProxy",
    "LocalSource",
    "ServiceSource",
    "Source",
]
