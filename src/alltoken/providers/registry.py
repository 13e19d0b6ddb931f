"""Build provider instances from configuration."""

from ..config import ConfigError, ProviderConfig
from .anthropic import AnthropicProvider
from .base import Provider
from .bedrock import BedrockProvider
from .demo import DemoProvider
from .gemini import GeminiProvider
from .llama import LlamaProvider
from .mistral import MistralProvider
from .openai import OpenAIProvider
from .transport import Transport

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
