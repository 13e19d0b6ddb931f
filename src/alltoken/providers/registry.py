"""Each provider type (the list is config/provider_types.py) mapped to its client class, and the
clients built from configuration."""

from collections.abc import Callable

from alltoken.config import ConfigError, ProviderConfig
from alltoken.providers.anthropic.client import AnthropicProvider
from alltoken.providers.base import Provider
from alltoken.providers.bedrock.client import BedrockProvider
from alltoken.providers.demo.client import DemoProvider
from alltoken.providers.gemini.client import GeminiProvider
from alltoken.providers.openai.client import OpenAIProvider
from alltoken.providers.openai.llama import LlamaProvider
from alltoken.providers.openai.mistral import MistralProvider
from alltoken.providers.transport import Transport

CLIENTS: dict[str, Callable[[ProviderConfig, Transport], Provider]] = {
    "openai": OpenAIProvider,
    "mistral": MistralProvider,
    "llama": LlamaProvider,
    "anthropic": AnthropicProvider,
    "openai_compatible": OpenAIProvider,
    "demo": DemoProvider,
    "bedrock": BedrockProvider,
    "gemini": GeminiProvider,
}


def build_providers(configs: list[ProviderConfig], transport: Transport) -> dict[str, Provider]:
    providers = {}
    for config in configs:
        try:
            providers[config.id] = CLIENTS[config.type](config, transport)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    return providers
