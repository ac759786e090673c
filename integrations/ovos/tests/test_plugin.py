"""The plug-in as OpenVoiceOS loads it: found and loaded by ovos-plugin-manager through its
entry point, bound to the OVOS message bus in process, talking to a real selflearn service."""

from __future__ import annotations

import time

from ovos_bus_client.message import Message
from ovos_plugin_manager.text_transformers import (
    find_utterance_transformer_plugins,
    load_utterance_transformer_plugin,
)
from ovos_utils.fakebus import FakeBus

MISHEARD = "turn of the kitchen light"
MEANT = "turn off the kitchen light"
WORKING = ("what time is it", "turn on the kitchen light")


def _plugin(service, **config):
    cls = load_utterance_transformer_plugin("selflearn-ovos-plugin")
    plugin = cls(config={"url": service.url, "token": service.token, **config})
    bus = FakeBus()
    plugin.bind(bus)
    return plugin, bus


def _turn(plugin, bus, session: str, text: str, handled: bool) -> list[str]:
    """One turn as ovos-core runs it: the listener's utterance on the bus, the transformers
    (this plug-in) before intent matching, then the skill's handler and its outcome."""
    context = {"session": {"session_id": session}, "lang": "en-US"}
    bus.emit(Message("recognizer_loop:utterance", {"utterances": [text], "lang": "en-US"}, context))
    utterances, _ = plugin.transform([text], context)
    if handled:
        bus.emit(Message("mycroft.skill.handler.start", {"name": "LightSkill.handle_off"}, context))
        bus.emit(Message("speak", {"utterance": "Done."}, context))
        bus.emit(Message("ovos.utterance.handled", {}, context))
    else:
        bus.emit(Message("complete_intent_failure", {}, context))
    return utterances


def test_found_and_loaded_by_its_entry_point() -> None:
    found = find_utterance_transformer_plugins()
    assert "selflearn-ovos-plugin" in found
    cls = load_utterance_transformer_plugin("selflearn-ovos-plugin")
    assert cls.__name__ == "SelflearnTransformer" and found["selflearn-ovos-plugin"] is cls


def test_learns_a_misheard_utterance_and_fails_open(service) -> None:
    plugin, bus = _plugin(service)
    # two devices (sessions), three rounds: the misheard request fails, then said right
    for _ in range(3):
        for session in ("kitchen-satellite", "living-room-satellite"):
            assert _turn(plugin, bus, session, MISHEARD, handled=False) == [MISHEARD]
            assert _turn(plugin, bus, session, MEANT, handled=True) == [MEANT]
            for text in WORKING:
                _turn(plugin, bus, session, text, handled=True)
            time.sleep(0.01)
    assert plugin.client.flush(30)
    run = service.sync("POST", "/v1/admin/learn")
    assert run["version"], run

    # the learned rewrite comes first, the heard words after it; the rest untouched
    assert _turn(plugin, bus, "kitchen-satellite", MISHEARD, handled=True) == [MEANT, MISHEARD]
    for text in (MEANT, *WORKING):
        assert _turn(plugin, bus, "kitchen-satellite", text, handled=True) == [text]
    assert plugin.client.flush(30)

    # the service down: every utterance passes unchanged, within the budget
    service.stop()
    started = time.perf_counter()
    assert plugin.transform([MISHEARD], {"session": {"session_id": "kitchen-satellite"}}) == (
        [MISHEARD],
        {},
    )
    assert time.perf_counter() - started < 0.5
    plugin.client.close()

    turns = service.stored()
    assert len(turns) == 6 * 4 + 4  # every turn reached the store
    fixed = [t for t in turns if t["rewrite"] is not None]
    assert [(t["asr"]["text"], t["rewrite"]["to"]) for t in fixed] == [(MISHEARD, MEANT)]
    failed = [t for t in turns if t["response"]["status"] == "no_intent_match"]
    assert len(failed) == 6 and all(t["asr"]["text"] == MISHEARD for t in failed)
    worked = next(t for t in turns if t["asr"]["text"] == MEANT)
    assert worked["nlu"]["intent"] == "LightSkill.handle_off"
    assert worked["response"]["text"] == "Done." and worked["device_id"].startswith("ovos:")
