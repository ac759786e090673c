"""The tests' fixtures (a real service process, custom integrations enabled)."""

from tests.conftest import auto_enable_custom_integrations, service

__all__ = ["auto_enable_custom_integrations", "service"]
