"""The one interface every provider module implements.

Our canonical request and response shapes are OpenAI Chat Completions; a provider translates
to and from its own wire format and reports usage in OpenAI's inclusive convention.
"""

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

from alltoken.config import ProviderConfig
from alltoken.config.provider_types import check_provider
from alltoken.pricing import Usage


@dataclass(slots=True)
class ChatCall:
    body: dict            # validated OpenAI-shape request; "model" already set to the upstream model
    request_id: str


@dataclass(slots=True)
class ChatResult:
    body: dict            # OpenAI chat.completion object
    usage: Usage


class Provider(ABC):
    # OpenAI request parameters this provider cannot honour (they are dropped or refused); a request
    # with `provider.require_parameters` skips providers that would drop one it uses.
    unsupported_parameters: frozenset[str] = frozenset()

    def __init__(self, config: ProviderConfig):
        check_provider(config)
        self.config = config
        self.id = config.id
        policy = config.options.get("data_policy") or {}
        # Unknown means "may retain": `data_collection: deny` only trusts a declared policy.
        self.retains_prompts = bool(policy.get("retains_prompts", True))
        self.trains_on_prompts = bool(policy.get("trains_on_prompts", True))

    @abstractmethod
    async def chat(self, call: ChatCall) -> ChatResult:
        """One non-streaming completion."""

    @abstractmethod
    def chat_stream(self, call: ChatCall) -> AsyncIterator[dict]:
        """OpenAI chunk objects; the last one has `choices: []` and the full `usage`.

        Raises UpstreamError before the first chunk for failures the router may retry."""

    async def start(self) -> None:
        """Open connections; called once the event loop runs."""

    async def close(self) -> None:
        """Release connections."""


@dataclass(slots=True)
class EmbeddingCall:
    body: dict            # validated OpenAI-shape embeddings request; "model" set to the upstream model
    request_id: str


@dataclass(slots=True)
class EmbeddingResult:
    vectors: list[list[float]]   # one per input, in input order
    usage: Usage


class EmbeddingProvider(ABC):
    """Mixed into providers that offer embeddings."""

    @abstractmethod
    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        """Float vectors for every input; the gateway does the response shape and encoding."""
