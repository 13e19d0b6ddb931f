"""An account's model restrictions on the hot path: models and providers AllToken has cut it off
(e.g. because a provider demanded it). Unlike the routing policy, which the account's organisation
chooses, these are imposed on the account; both are applied, and neither can lift the other."""

from dataclasses import dataclass

from alltoken.routing.policy import RoutingPolicy


@dataclass(frozen=True, slots=True)
class ModelRestrictions:
    allow_models: frozenset[str] | None = None
    deny_models: frozenset[str] = frozenset()
    providers: RoutingPolicy | None = None     # the provider allow- or deny-list, as a routing policy

    @classmethod
    def from_lists(cls, allow_models: list | None, deny_models: list | None, allow_providers: list | None,
                   deny_providers: list | None) -> "ModelRestrictions | None":
        providers = None
        if allow_providers is not None or deny_providers:
            providers = RoutingPolicy(allow_providers=None if allow_providers is None else frozenset(allow_providers),
                                      deny_providers=frozenset(deny_providers or ()))
        if allow_models is None and not deny_models and providers is None:
            return None
        return cls(allow_models=None if allow_models is None else frozenset(allow_models),
                   deny_models=frozenset(deny_models or ()), providers=providers)

    def refusal(self, model_id: str, provider_ids: list[str]) -> str | None:
        """Why the account may not use the model (None when it may)."""
        if model_id in self.deny_models or (self.allow_models is not None and model_id not in self.allow_models):
            return (f"this account may not use model '{model_id}': it is restricted for this account; "
                    "GET /v1/models lists the models it may use")
        if self.providers is not None and all(self.providers.refuses(p, None) for p in provider_ids):
            return (f"this account may not use model '{model_id}': its providers ({', '.join(provider_ids)}) "
                    "are restricted for this account; GET /v1/models lists the models it may use")
        return None
