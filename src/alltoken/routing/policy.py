"""An account's routing policy: providers and regions it allows or denies. It always wins over
a request's own preferences (an organisation that says EU-only means EU-only)."""

from dataclasses import dataclass

FIELDS = ("allow_providers", "deny_providers", "allow_regions", "deny_regions")


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    allow_providers: frozenset[str] | None = None
    deny_providers: frozenset[str] = frozenset()
    allow_regions: frozenset[str] | None = None
    deny_regions: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, data: dict | None) -> "RoutingPolicy | None":
        if not data:
            return None
        allow_p, allow_r = data.get("allow_providers"), data.get("allow_regions")
        return cls(allow_providers=frozenset(allow_p) if allow_p else None,
                   deny_providers=frozenset(data.get("deny_providers") or ()),
                   allow_regions=frozenset(allow_r) if allow_r else None,
                   deny_regions=frozenset(data.get("deny_regions") or ()))

    def refuses(self, provider_id: str, region: str | None) -> bool:
        """A route whose provider has no region configured fails an allow-list of regions."""
        if provider_id in self.deny_providers or region in self.deny_regions:
            return True
        if self.allow_providers is not None and provider_id not in self.allow_providers:
            return True
        return self.allow_regions is not None and region not in self.allow_regions

    def combined(self, other: "RoutingPolicy | None") -> "RoutingPolicy":
        """Both policies at once: a route passes only if each of them lets it through."""
        if other is None:
            return self
        return RoutingPolicy(allow_providers=_both(self.allow_providers, other.allow_providers),
                             deny_providers=self.deny_providers | other.deny_providers,
                             allow_regions=_both(self.allow_regions, other.allow_regions),
                             deny_regions=self.deny_regions | other.deny_regions)


def _both(first: frozenset[str] | None, second: frozenset[str] | None) -> frozenset[str] | None:
    if first is None or second is None:
        return first if second is None else second
    return first & second
