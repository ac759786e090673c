"""Devices for the integration tests: lights and media players that behave like real ones
(Home Assistant's own light and media player entity classes, state kept in memory)."""
