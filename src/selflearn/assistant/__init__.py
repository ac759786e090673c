"""The reference smart-home assistant built on Home Assistant's intent matcher."""

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
