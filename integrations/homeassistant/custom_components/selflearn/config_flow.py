"""Adding selflearn: the service's address and token; options: which agent to wrap, the
budget, shadow mode, the after-action window."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.components.conversation.agent_manager import get_agent_manager
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import SelflearnClient, ServiceError
from .const import (
    CONF_AGENT,
    CONF_BUDGET_MS,
    CONF_SHADOW,
    CONF_TOKEN,
    CONF_URL,
    CONF_WINDOW_S,
    DEFAULT_AGENT,
    DEFAULT_BUDGET_MS,
    DEFAULT_URL,
    DEFAULT_WINDOW_S,
    DOMAIN,
)


async def _reachable(hass: HomeAssistant, url: str, token: str | None) -> str | None:
    """None when the service answers at ``url`` and takes ``token``; else the error key."""
    client = SelflearnClient(async_get_clientsession(hass), url, token)
    try:
        await client.health()
        if token:  # a read that needs the token: is it the service's?
            await client._call("GET", "/v1/report/summary", 10.0)
    except ServiceError as err:
        return "invalid_auth" if err.status == 401 else "cannot_connect"
    return None


class SelflearnConfigFlow(ConfigFlow, domain=DOMAIN):
    """The service to use."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            url = str(user_input[CONF_URL]).rstrip("/")
            token = user_input.get(CONF_TOKEN) or None
            self._async_abort_entries_match({CONF_URL: url})
            error = await _reachable(self.hass, url, token)
            if error is None:
                return self.async_create_entry(
                    title="selflearn", data={CONF_URL: url, CONF_TOKEN: token}
                )
            errors["base"] = error
        schema = vol.Schema(
            {
                vol.Required(CONF_URL, default=DEFAULT_URL): str,
                vol.Optional(CONF_TOKEN): selector.TextSelector(
                    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
                ),
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        return SelflearnOptionsFlow()


def agent_choices(hass: HomeAssistant, own: str | None) -> list[selector.SelectOptionDict]:
    """Every conversation agent but this one: entities, then older agents."""
    choices: list[selector.SelectOptionDict] = []
    for entity_id in sorted(hass.states.async_entity_ids("conversation")):
        if entity_id == own:
            continue
        state = hass.states.get(entity_id)
        name = state.name if state else entity_id
        choices.append(selector.SelectOptionDict(value=entity_id, label=str(name)))
    for info in get_agent_manager(hass).async_get_agent_info():
        choices.append(selector.SelectOptionDict(value=info.id, label=info.name))
    if not any(c["value"] == DEFAULT_AGENT for c in choices):
        choices.insert(0, selector.SelectOptionDict(value=DEFAULT_AGENT, label="Home Assistant"))
    return choices


class SelflearnOptionsFlow(OptionsFlow):
    """Options: the agent to wrap, the budget, shadow mode, the after-action window."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            url = str(user_input.get(CONF_URL) or entry.data[CONF_URL]).rstrip("/")
            token = user_input.get(CONF_TOKEN) or entry.data.get(CONF_TOKEN)
            error = await _reachable(self.hass, url, token)
            if error is None:
                return self.async_create_entry(
                    data={**user_input, CONF_URL: url, CONF_TOKEN: token}
                )
            errors["base"] = error
        own = _own_agent(self.hass, entry.entry_id)
        current = {**entry.data, **entry.options}
        schema = vol.Schema(
            {
                vol.Required(CONF_AGENT, default=current.get(CONF_AGENT, DEFAULT_AGENT)): (
                    selector.SelectSelector(
                        selector.SelectSelectorConfig(options=agent_choices(self.hass, own))
                    )
                ),
                vol.Required(
                    CONF_BUDGET_MS, default=current.get(CONF_BUDGET_MS, DEFAULT_BUDGET_MS)
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(min=5, max=2000, step=5, unit_of_measurement="ms")
                ),
                vol.Required(CONF_SHADOW, default=current.get(CONF_SHADOW, False)): bool,
                vol.Required(
                    CONF_WINDOW_S, default=current.get(CONF_WINDOW_S, DEFAULT_WINDOW_S)
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(min=0, max=300, step=1, unit_of_measurement="s")
                ),
                vol.Required(CONF_URL, default=current.get(CONF_URL, DEFAULT_URL)): str,
                vol.Optional(CONF_TOKEN): selector.TextSelector(
                    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
                ),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema, errors=errors)


def _own_agent(hass: HomeAssistant, entry_id: str) -> str | None:
    from homeassistant.helpers import entity_registry as er

    return er.async_get(hass).async_get_entity_id("conversation", DOMAIN, f"{entry_id}-agent")
