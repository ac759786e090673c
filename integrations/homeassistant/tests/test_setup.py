"""Adding the integration, its options, shadow mode, the sensors and the diagnostics."""

from __future__ import annotations

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_component import async_update_entity

from custom_components.selflearn.diagnostics import async_get_config_entry_diagnostics

from .conftest import ServiceProcess, add_selflearn, drain, setup_home


async def test_config_flow_checks_the_service(hass: HomeAssistant, service: ServiceProcess) -> None:
    await setup_home(hass)
    flow = await hass.config_entries.flow.async_init("selflearn", context={"source": "user"})
    closed = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"url": "http://127.0.0.1:9", "token": service.token}
    )
    assert closed["type"] == "form" and closed["errors"] == {"base": "cannot_connect"}
    wrong = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"url": service.url, "token": "not-the-token-at-all"}
    )
    assert wrong["type"] == "form" and wrong["errors"] == {"base": "invalid_auth"}
    done = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"url": service.url, "token": service.token}
    )
    assert done["type"] == "create_entry"
    assert done["data"] == {"url": service.url, "token": service.token}


async def test_options_shadow_sensors_diagnostics(
    hass: HomeAssistant, service: ServiceProcess
) -> None:
    home = await setup_home(hass)
    entry_id, agent = await add_selflearn(hass, service, shadow=True, window_s=0)
    entry = hass.config_entries.async_get_entry(entry_id)
    # the options offer every other agent, never this one
    step = await hass.config_entries.options.async_init(entry_id)
    schema = step["data_schema"].schema
    key = next(k for k in schema if k == "agent_id")
    offered = [o["value"] for o in schema[key].config["options"]]
    assert "conversation.home_assistant" in offered and agent not in offered
    hass.config_entries.options.async_abort(step["flow_id"])

    # shadow mode: what would be rewritten is counted, never applied
    said = "no, I meant turn off the ceiling light"
    result = await conversation.async_converse(
        hass, said, None, Context(), "en", agent_id=agent, device_id=home["satellite"]
    )
    assert result.response.error_code is not None  # the wrapped agent got the words as said
    assert hass.states.get("light.ceiling_light").state == "on"
    runtime = entry.runtime_data
    assert runtime.counters["shadow_rewrites"] == 1
    assert runtime.counters["rewrites_applied"] == 0
    await drain(hass, entry_id)

    registry = er.async_get(hass)
    values = {}
    for key in ("turns_logged", "rewrites_applied", "fail_opens", "queued_events"):
        entity_id = registry.async_get_entity_id("sensor", "selflearn", f"{entry_id}-{key}")
        assert entity_id is not None, key
        await async_update_entity(hass, entity_id)
        values[key] = hass.states.get(entity_id).state
    assert values == {
        "turns_logged": "1",
        "rewrites_applied": "0",
        "fail_opens": "0",
        "queued_events": "0",
    }

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["data"]["token"] == "**REDACTED**"
    assert diagnostics["options"]["shadow"] is True
    assert diagnostics["counters"]["turns_logged"] == 1
    assert diagnostics["queue"]["sent"] == 1 and diagnostics["queue"]["waiting"] == 0
    assert diagnostics["service"]["status"] == "ok"
    assert service.token not in str(diagnostics)


async def test_a_wrapped_agent_that_is_gone_falls_back_to_home_assistants(
    hass: HomeAssistant, service: ServiceProcess
) -> None:
    home = await setup_home(hass)
    entry_id, agent = await add_selflearn(hass, service, window_s=0)
    entry = hass.config_entries.async_get_entry(entry_id)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "agent_id": "conversation.uninstalled_llm"}
    )
    await hass.async_block_till_done()  # the entry reloads with the new options
    result = await conversation.async_converse(
        hass,
        "turn off the desk lamp",
        None,
        Context(),
        "en",
        agent_id=agent,
        device_id=home["satellite"],
    )
    assert result.response.error_code is None
    assert hass.states.get("light.desk_lamp").state == "off"


async def test_wraps_any_installed_agent(hass: HomeAssistant, service: ServiceProcess) -> None:
    """Another agent (an LLM one, say) chosen in the options gets the words — rewritten when
    the service says so — with the same conversation and device, and its answer comes back
    unchanged."""
    from homeassistant.components.conversation import (
        AbstractConversationAgent,
        ConversationInput,
        ConversationResult,
        async_set_agent,
    )
    from homeassistant.helpers import intent
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    class EchoAgent(AbstractConversationAgent):
        def __init__(self) -> None:
            self.inputs: list[ConversationInput] = []

        @property
        def supported_languages(self) -> str:
            return "*"

        async def async_process(self, user_input: ConversationInput) -> ConversationResult:
            self.inputs.append(user_input)
            response = intent.IntentResponse(language=user_input.language)
            response.async_set_speech(f"You said: {user_input.text}")
            return ConversationResult(response=response, conversation_id="llm-conversation-1")

    home = await setup_home(hass)
    llm_entry = MockConfigEntry(domain="llm_test", title="Test LLM")
    llm_entry.add_to_hass(hass)
    echo = EchoAgent()
    async_set_agent(hass, llm_entry, echo)
    _, agent = await add_selflearn(hass, service, agent_id=llm_entry.entry_id, window_s=0)
    result = await conversation.async_converse(
        hass,
        "no, I meant turn off the ceiling light",
        "conv-7",
        Context(),
        "en",
        agent_id=agent,
        device_id=home["satellite"],
    )
    assert result.response.speech["plain"]["speech"] == "You said: turn off the ceiling light"
    assert result.conversation_id == "llm-conversation-1"
    (seen,) = echo.inputs
    assert seen.text == "turn off the ceiling light"
    assert seen.conversation_id == "conv-7" and seen.device_id == home["satellite"]
