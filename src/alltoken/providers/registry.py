"""Build provider instances from configuration."""

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

_IMPLEMENTATIONS = {
    "openai": OpenAIProvider,
    "mistral": MistralProvider,
    "llama": LlamaProvider,
    "anthropic": AnthropicProvider,
    "openai_compatible": OpenAIProvider,
    "demo": DemoProvider,
    "bedrock": BedrockProvider,
    "gemini": GeminiProvider,
}
AVAILABLE_TYPES = frozenset(_IMPLEMENTATIONS)


def build_providers(configs: list[ProviderConfig], transport: Transport) -> dict[str, Provider]:
    providers = {}
    for config in configs:
        implementation = _IMPLEMENTATIONS.get(config.type)
        if implementation is None:
            raise ConfigError(f"provider {config.id}: type {config.type!r} is not available in this release "
                              f"(available: {', '.join(sorted(_IMPLEMENTATIONS))})")
        try:
            providers[config.id] = implementation(config, transport)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    return providers
