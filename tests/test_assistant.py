from __future__ import annotations

import random

import pytest

from selflearn import Assistant, ConfigError
from selflearn.assistant import SpeechChannel, SpeechParams


def _run(bot: Assistant, text: str, device: str = "satellite.kitchen") -> dict[str, object]:
    return bot.handle(text, device_id=device, rng=random.Random(1)).stages()


def test_every_stage_writes_its_part(assistant: Assistant) -> None:
    stages = _run(assistant, "turn on the desk lamp", "display.office")
    assert stages["asr"]["text"] == "turn on the desk lamp"
    assert stages["nlu"]["intent"] == "HassTurnOn"
    assert stages["nlu"]["slots"] == {"name": "Desk Lamp"}
    assert stages["resolution"]["status"] == "ok"
    assert stages["resolution"]["entities"][0]["entity_id"] == "light.office_desk_lamp"
    assert stages["response"]["status"] == "success"
    assert stages["changed"] == {"light.office_desk_lamp": "on"}
    assert assistant.home.entity("light.office_desk_lamp").state == "on"


def test_ambiguous_name_resolves_by_the_device_area(assistant: Assistant) -> None:
    ambiguous = _run(assistant, "turn on the lamp", "satellite.kitchen")
    assert ambiguous["resolution"]["status"] == "ambiguous"
    assert ambiguous["response"]["status"] == "no_valid_targets"
    in_bedroom = _run(assistant, "turn on the lamp", "satellite.bedroom")
    assert in_bedroom["resolution"]["status"] == "ok"
    assert in_bedroom["changed"] == {"light.bedroom_lamp": "on"}


def test_unknown_name_is_named_in_the_answer_and_changes_nothing(assistant: Assistant) -> None:
    before = assistant.home.states()
    stages = _run(assistant, "turn on the telly")
    assert stages["nlu"]["intent"] == "HassTurnOn"
    assert stages["resolution"]["status"] == "no_match"
    assert stages["response"]["status"] == "no_valid_targets"
    assert "telly" in stages["response"]["text"]
    assert assistant.home.states() == before
    gibberish = _run(assistant, "banana seventeen purple")
    assert gibberish["nlu"]["intent"] is None
    assert gibberish["response"]["status"] == "no_intent_match"


def test_area_context_reaches_the_templates(assistant: Assistant) -> None:
    stages = _run(assistant, "turn off the lights", "satellite.bedroom")
    assert stages["nlu"]["slots"] == {"domain": "light", "area": "Bedroom"}
    assert set(stages["changed"]) == {"light.bedroom_ceiling", "light.bedroom_lamp"}


def test_media_collision_follows_the_device_type(assistant: Assistant) -> None:
    on_display = _run(assistant, "play the hunger games", "display.living_room")
    on_speaker = _run(assistant, "play the hunger games", "satellite.bedroom")
    ids = [
        e["entity_id"] for e in on_display["resolution"]["entities"] if e["slot"] == "search_query"
    ]
    assert ids == ["movie.hunger_games"]
    ids = [
        e["entity_id"] for e in on_speaker["resolution"]["entities"] if e["slot"] == "search_query"
    ]
    assert ids == ["book.hunger_games"]


def test_near_identical_titles_pick_the_closest(assistant: Assistant) -> None:
    stages = _run(assistant, "play summer night", "satellite.kitchen")
    ids = [e["entity_id"] for e in stages["resolution"]["entities"] if e["slot"] == "search_query"]
    assert ids == ["track.summer_night"]


def test_oven_answers_temperature_in_the_kitchen(assistant: Assistant) -> None:
    stages = _run(assistant, "what is the temperature", "satellite.kitchen")
    assert stages["nlu"]["intent"] == "HassClimateGetTemperature"
    assert stages["response"]["text"].startswith("Oven")


def test_timers_keep_state(assistant: Assistant) -> None:
    assert _run(assistant, "cancel the timer")["response"]["status"] == "failed_to_handle"
    assert _run(assistant, "set a timer for 10 minutes")["response"]["status"] == "success"
    assert _run(assistant, "cancel the timer")["response"]["status"] == "success"


def test_unknown_device_is_a_clear_error(assistant: Assistant) -> None:
    with pytest.raises(ConfigError, match=r"'device_id' parameter .* Got 'toaster'"):
        assistant.handle("turn on the lamp", device_id="toaster")


def test_speech_channel_is_seeded_and_confidence_tracks_errors() -> None:
    channel = SpeechChannel.fitted()
    sentences = [
        "turn off the kitchen lights",
        "play summer nights by ruby vale",
        "set the thermostat to twenty one degrees",
        "what is the weather like today",
    ] * 100
    first = [channel.transcribe(s, random.Random(i)).text for i, s in enumerate(sentences)]
    again = [channel.transcribe(s, random.Random(i)).text for i, s in enumerate(sentences)]
    assert first == again
    results = [channel.transcribe(s, random.Random(7 + i)) for i, s in enumerate(sentences)]
    right = [r.confidence for r, s in zip(results, sentences, strict=True) if r.text == s]
    wrong = [r.confidence for r, s in zip(results, sentences, strict=True) if r.text != s]
    assert right and wrong
    assert sum(right) / len(right) > sum(wrong) / len(wrong) + 0.05
    # ... but not perfectly: some wrong transcripts are more confident than some right ones
    assert max(wrong) > min(right)


def test_rare_words_are_misheard_more_than_common_ones() -> None:
    channel = SpeechChannel(SpeechParams(error_rate=0.1, insert_rate=0.0, rare_multiplier=3.0))
    rng = random.Random(3)
    common = sum(channel.transcribe("play the music", rng, noise=1.0).errors for _ in range(400))
    rare = sum(
        channel.transcribe("play coastliners marlow", rng, noise=1.0).errors for _ in range(400)
    )
    assert rare > 1.5 * common


def test_false_wake_scores_are_lower() -> None:
    from selflearn import WakeDetector

    wake = WakeDetector()
    rng = random.Random(0)
    real = [wake.score(rng, intended=True) for _ in range(500)]
    false = [wake.score(rng, intended=False) for _ in range(500)]
    assert min(real + false) >= wake.threshold
    assert sum(real) / 500 > sum(false) / 500 + 0.15
    assert 20 <= sum(wake.false_wakes(rng, 100.0) for _ in range(3)) <= 160


def test_room_noise_scales_recognition_errors() -> None:
    bot = Assistant.create(speech=True)
    assert bot.home.area("kitchen").noise > bot.home.area("bedroom").noise  # type: ignore[union-attr]
    rng = random.Random(5)
    sentence = "set the thermostat to twenty one degrees"

    def misheard(device: str) -> int:
        return sum(
            bot.handle(sentence, device_id=device, rng=rng, noise=1.0).event.asr.text != sentence
            for _ in range(300)
        )

    assert misheard("satellite.kitchen") > misheard("satellite.bedroom") + 20


def test_a_rewrite_the_resolver_would_have_to_guess_on_is_declined() -> None:
    from selflearn.rewrite import RewriteTable

    rows = [
        ("lamp thingy", "turn on the lamp"),
        ("desk lamp thingy", "turn on the desk lamp"),
        ("summer song", "play summer night"),
    ]
    table = RewriteTable.from_rows(
        [{"source": s, "rewrite": t, "score": 0.9, "support": 5} for s, t in rows]
    )
    bot = Assistant.create(speech=False, rewriter=table)
    # two lamps in the home: the rewrite would leave the bedroom to pick one
    turn = bot.handle("lamp thingy", device_id="satellite.bedroom")
    assert turn.rewrite is None and not turn.changed
    assert turn.event.asr.text == "lamp thingy" and bot.rewrites_declined == 1
    # said plainly, the same words still act on the room's own lamp
    plain = bot.handle("turn on the lamp", device_id="satellite.bedroom")
    assert plain.changed == {"light.bedroom_lamp": "on"}
    # a title with a near twin ("summer nights") is a guess too
    assert bot.handle("summer song", device_id="satellite.kitchen").rewrite is None
    assert bot.rewrites_declined == 2
    # one device of that name: the rewrite acts
    turn = bot.handle("desk lamp thingy", device_id="display.office")
    assert turn.rewrite is not None and turn.changed == {"light.office_desk_lamp": "on"}


def test_a_rewrite_that_would_redo_the_last_action_is_refused() -> None:
    from selflearn.rewrite import RewriteTable

    table = RewriteTable.from_rows(
        [
            {
                "source": "desk lamp of",
                "rewrite": "turn off the desk lamp",
                "score": 0.9,
                "support": 5,
            }
        ]
    )
    bot = Assistant.create(speech=False, rewriter=table)
    bot.handle("turn on the desk lamp", device_id="display.office", ts=1000.0)
    assert bot.handle("desk lamp of", device_id="display.office", ts=1010.0).rewrite is not None
    # the user says it again moments later: doing it again cannot be what they want
    again = bot.handle("desk lamp of", device_id="display.office", ts=1030.0)
    assert again.rewrite is None and bot.redos_refused == 1
    # much later it is a new request
    later = bot.handle("desk lamp of", device_id="display.office", ts=5000.0)
    assert later.rewrite is not None
