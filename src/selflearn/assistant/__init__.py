"""The reference smart-home assistant built on Home Assistant's intent matcher."""

from __future__ import annotations

import typing

from selflearn._lazy import lazy_names

if typing.TYPE_CHECKING:
    from selflearn.assistant.home import Area, Entity, Floor, Home, VoiceDevice
    from selflearn.assistant.media import Catalogue, MediaItem
    from selflearn.assistant.nlu import IntentMatcher, NluResult, build_slot_lists
    from selflearn.assistant.pipeline import Assistant, Turn
    from selflearn.assistant.speech import SpeechChannel, SpeechParams, Transcript
    from selflearn.assistant.wake import WakeDetector

__all__ = [
    "Area",
    "Assistant",
    "Catalogue",
    "Entity",
    "Floor",
    "Home",
    "IntentMatcher",
    "MediaItem",
    "NluResult",
    "SpeechChannel",
    "SpeechParams",
    "Transcript",
    "Turn",
    "VoiceDevice",
    "WakeDetector",
    "build_slot_lists",
]

# name → the module it comes from
_WHERE = {
    "Area": "selflearn.assistant.home",
    "Assistant": "selflearn.assistant.pipeline",
    "Catalogue": "selflearn.assistant.media",
    "Entity": "selflearn.assistant.home",
    "Floor": "selflearn.assistant.home",
    "Home": "selflearn.assistant.home",
    "IntentMatcher": "selflearn.assistant.nlu",
    "MediaItem": "selflearn.assistant.media",
    "NluResult": "selflearn.assistant.nlu",
    "SpeechChannel": "selflearn.assistant.speech",
    "SpeechParams": "selflearn.assistant.speech",
    "Transcript": "selflearn.assistant.speech",
    "Turn": "selflearn.assistant.pipeline",
    "VoiceDevice": "selflearn.assistant.home",
    "WakeDetector": "selflearn.assistant.wake",
    "build_slot_lists": "selflearn.assistant.nlu",
}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)
