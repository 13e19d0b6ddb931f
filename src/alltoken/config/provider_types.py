"""The provider types a config may name, and what each one needs from its `providers:` entry.

This is the one list: config checks entries against it, and providers/registry.py maps each type
to its client class (a test keeps the two in step).
"""

from dataclasses import dataclass, field
from typing import Any

from alltoken.config.values import ConfigError


@dataclass(frozen=True)
class ProviderConfig:
    """One `providers:` entry; keys the entry has beyond these fields are kept in `options`."""

    id: str
    type: str
    api_key: str | None = None
    base_url: str | None = None
    region: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


ENTRY_FIELDS = frozenset(("id", "type", "api_key", "base_url", "region", "aws_access_key_id",
                          "aws_secret_access_key"))


@dataclass(frozen=True)
class ProviderType:
    name: str
    default_base_url: str | None = None   # "{region}" is filled from the entry's region
    requires: tuple[tuple[tuple[str, ...], str], ...] = ()   # (fields that must all be set, what to say if not)
    env_api_key: str | None = None        # the standard variable that enables this type with no config file

    def problem(self, config: ProviderConfig) -> str | None:
        """Why `config` cannot work for this type, or None."""
        for fields, need in self.requires:
            if not all(getattr(config, name) for name in fields):
                return f"provider {config.id}: {self.name} needs {need}"
        return None

    def base_url(self, config: ProviderConfig) -> str:
        """The entry's base_url, else this type's default, without a trailing slash."""
        url = config.base_url or (self.default_base_url or "").format(region=config.region)
        return url.rstrip("/")


_TYPES = (
    ProviderType("openai", "https://api.openai.com/v1", env_api_key="OPENAI_API_KEY"),
    ProviderType("anthropic", "https://api.anthropic.com", env_api_key="ANTHROPIC_API_KEY"),
    ProviderType("gemini", "https://generativelanguage.googleapis.com",
                 requires=((("api_key",), "an api_key"),), env_api_key="GEMINI_API_KEY"),
    ProviderType("bedrock", "https://bedrock-runtime.{region}.amazonaws.com",
                 requires=((("region",), "a region (for example us-east-1)"),
                           (("aws_access_key_id", "aws_secret_access_key"),
                            "aws_access_key_id and aws_secret_access_key"))),
    ProviderType("mistral", "https://api.mistral.ai/v1", env_api_key="MISTRAL_API_KEY"),
    ProviderType("llama", "https://api.llama.com/compat/v1", env_api_key="LLAMA_API_KEY"),
    ProviderType("openai_compatible", requires=((("base_url",), "a base_url"),)),
    ProviderType("demo"),
)
PROVIDER_TYPES: dict[str, ProviderType] = {kind.name: kind for kind in _TYPES}

# Standard variables that enable a provider when no config file lists providers.
ENV_PROVIDERS = {kind.name: kind.env_api_key for kind in _TYPES if kind.env_api_key}


def provider_type(config: ProviderConfig) -> ProviderType:
    """The type of a checked entry (see `check_provider`)."""
    return PROVIDER_TYPES[config.type]


def check_provider(config: ProviderConfig) -> None:
    """Raise ConfigError unless the entry names a known type and sets what that type needs."""
    kind = PROVIDER_TYPES.get(config.type)
    if kind is None:
        raise ConfigError(f"provider {config.id}: unknown type {config.type!r}; one of {', '.join(PROVIDER_TYPES)}")
    problem = kind.problem(config)
    if problem:
        raise ConfigError(problem)
