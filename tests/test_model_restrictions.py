"""Model restrictions: per-account deny or allow lists of models and providers, applied to chat,
messages, embeddings and the models list, in every process within a second, and audited."""

import anthropic
import httpx
import openai
import pytest

from alltoken.accounts.cache import AuthCache
from alltoken.accounts.keys import hash_key
from alltoken.accounts.service import create_account, create_key, set_routing_policy
from alltoken.errors import NotFound
from alltoken.governance.model_restrictions import clear, restrict, restrictions
from alltoken.routing.policy import RoutingPolicy
from alltoken.routing.restrictions import ModelRestrictions
from alltoken.runtime.loaders import Loaders
from alltoken.store.db import session_factory

from .harness import CliError, everywhere, gateway_pair

# Two offline providers: the catalog's demo models get a route on each, acme/solo-b only on demo-b.
CONFIG = {"providers": [{"id": "demo-a", "type": "demo"}, {"id": "demo-b", "type": "demo"}],
          "models": [{"id": "acme/solo-b", "routes": [{"provider": "demo-b", "model": "demo"}]}]}
CHAT, EMBED = "alltoken/demo", "alltoken/demo-embed"


def test_a_model_is_refused_when_denied_not_allowed_or_all_its_providers_are_cut_off():
    denied = ModelRestrictions.from_lists(None, ["a/x"], None, None)
    assert "may not use model 'a/x'" in denied.refusal("a/x", ["p"]) and denied.refusal("a/y", ["p"]) is None
    allowed = ModelRestrictions.from_lists(["a/y"], None, None, None)
    assert allowed.refusal("a/x", ["p"]) and allowed.refusal("a/y", ["p"]) is None
    cut = ModelRestrictions.from_lists(None, None, None, ["p"])
    assert "its providers (p) are restricted" in cut.refusal("a/x", ["p"]) and cut.refusal("a/x", ["p", "q"]) is None
    only = ModelRestrictions.from_lists(None, None, ["q"], None)
    assert only.refusal("a/x", ["p"]) and only.refusal("a/x", ["p", "q"]) is None
    assert ModelRestrictions.from_lists(None, None, None, None) is None


def test_restricted_providers_and_the_routing_policy_both_hold():
    policy = RoutingPolicy(allow_providers=frozenset({"a", "b"}), allow_regions=frozenset({"eu"}))
    both = RoutingPolicy(allow_providers=frozenset({"b", "c"}), deny_providers=frozenset({"d"})).combined(policy)
    assert both.allow_providers == {"b"} and both.deny_providers == {"d"} and both.allow_regions == {"eu"}
    assert not both.refuses("b", "eu") and both.refuses("a", "eu") and both.refuses("b", "us")
    assert policy.combined(None) is policy


async def test_restrictions_are_stored_and_carried_on_the_cached_account(engine):
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        account = await create_account(session, "restricted@example.com")
        key = await create_key(session, account.id)
        await set_routing_policy(session, account.id, {"deny_regions": ["us"]})
        stored = await restrict(session, account.id, {"deny_models": ["a/x", " a/x", "b/y"]}, "cli:ops@host")
    assert stored == {"allow_models": None, "deny_models": ["a/x", "b/y"], "allow_providers": None,
                      "deny_providers": None}
    async with sessions.begin() as session:  # providers are added; a model allow-list replaces the deny-list
        await restrict(session, account.id, {"deny_providers": ["p"]}, "cli:ops@host")
        stored = await restrict(session, account.id, {"allow_models": ["c/z"]}, "cli:ops@host")
    assert stored == {"allow_models": ["c/z"], "deny_models": None, "allow_providers": None, "deny_providers": ["p"]}
    loaders = Loaders(sessions)
    _, record = await AuthCache(loaders.key, loaders.account).lookup(hash_key(key.secret))
    assert record.restrictions.allow_models == {"c/z"} and record.restrictions.refusal("a/x", ["q"])
    assert record.routing_policy.deny_providers == {"p"} and record.routing_policy.deny_regions == {"us"}
    async with sessions.begin() as session:
        with pytest.raises(ValueError, match="not both"):
            await restrict(session, account.id, {"allow_models": ["a"], "deny_models": ["b"]}, "cli:ops@host")
        with pytest.raises(ValueError, match="at least one"):
            await restrict(session, account.id, {"deny_models": [" "]}, "cli:ops@host")
        with pytest.raises(NotFound):
            await restrict(session, "acct_missing", {"deny_models": ["a"]}, "cli:ops@host")
        await clear(session, account.id)
    async with sessions() as session:
        assert set((await restrictions(session, account.id)).values()) == {None}
    record = await loaders.account(account.id)
    assert record.restrictions is None and record.routing_policy.deny_providers == frozenset()


# End to end: two server processes on one database.

@pytest.fixture(scope="module")
def gateways(tmp_path_factory):
    with gateway_pair(tmp_path_factory.mktemp("restrictions"), CONFIG) as pair:
        yield pair


def chat(gateway, key, model=CHAT, **extra) -> httpx.Response:
    return httpx.post(gateway.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=10,
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}], **extra})


def listed(gateway, key) -> dict[str, list[str]]:
    """The models the key's account may use, with the providers that may serve each, as the SDK lists them."""
    return {m.id: m.model_extra["providers"] for m in gateway.sdk(key).models.list()}


def code_of(response: httpx.Response) -> str | None:
    return response.json()["error"]["code"] if response.status_code >= 400 else None



def test_a_denied_model_is_refused_everywhere_and_not_listed(gateways):
    first, second = gateways
    account, key = first.new_key()
    assert chat(first, key).status_code == 200 and chat(second, key).status_code == 200
    first.cli("models", "restrict", "--account", account, "--deny", CHAT)
    assert everywhere(gateways, lambda g: code_of(chat(g, key)) == "model_not_allowed")
    with pytest.raises(openai.PermissionDeniedError) as caught:
        second.sdk(key).chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "model_not_allowed" and "may not use model 'alltoken/demo'" in caught.value.message
    with pytest.raises(anthropic.PermissionDeniedError, match="restricted for this account"):
        second.anthropic_sdk(key).messages.create(model=CHAT, max_tokens=8, messages=[{"role": "user", "content": "x"}])
    fallback = chat(first, key, model="acme/solo-b", models=[CHAT])   # nor as a fallback model
    assert code_of(fallback) == "model_not_allowed"
    assert CHAT not in listed(second, key) and {EMBED, "acme/solo-b"} <= set(listed(second, key))
    assert CHAT in [m["id"] for m in httpx.get(first.url + "/v1/models").json()["data"]]   # the public list: all
    assert CHAT in {m.id for m in first.sdk("placeholder").models.list()}   # also for a key that is no key
    assert second.sdk(key).embeddings.create(model=EMBED, input="x").data
    _, other = first.new_key()
    assert chat(second, other).status_code == 200 and CHAT in listed(second, other)   # only that account

    first.cli("accounts", "routing", account, "--clear")   # the account's routing policy cannot lift it
    assert code_of(chat(second, key)) == "model_not_allowed"
    first.cli("models", "restrict", "--account", account, "--clear")
    assert everywhere(gateways, lambda g: chat(g, key).status_code == 200)
    assert CHAT in listed(first, key)


def test_an_allow_list_leaves_only_its_models_for_chat_messages_and_embeddings(gateways):
    first, second = gateways
    account, key = first.new_key()
    first.cli("models", "restrict", "--account", account, "--allow", EMBED)
    assert everywhere(gateways, lambda g: code_of(chat(g, key)) == "model_not_allowed")
    assert set(listed(second, key)) == {EMBED}
    assert second.sdk(key).embeddings.create(model=EMBED, input="x").data
    first.cli("models", "restrict", "--account", account, "--deny", EMBED)   # replaces the allow-list
    assert everywhere(gateways, lambda g: chat(g, key).status_code == 200)
    with pytest.raises(openai.PermissionDeniedError) as caught:
        second.sdk(key).embeddings.create(model=EMBED, input="x")
    assert caught.value.code == "model_not_allowed"
    assert second.anthropic_sdk(key).messages.create(model=CHAT, max_tokens=8,
                                                     messages=[{"role": "user", "content": "x"}]).content


def test_restricted_providers_never_serve_and_their_only_models_are_refused(gateways):
    first, second = gateways
    account, key = first.new_key()
    first.cli("models", "restrict", "--account", account, "--deny-providers", "demo-b")
    assert everywhere(gateways, lambda g: code_of(chat(g, key, model="acme/solo-b")) == "model_not_allowed")
    refused = chat(second, key, model="acme/solo-b").json()["error"]["message"]
    assert "its providers (demo-b) are restricted for this account" in refused
    pinned = chat(second, key, provider={"order": ["demo-b"]})   # the request cannot bring demo-b back
    assert pinned.status_code == 200 and pinned.headers["x-alltoken-provider"] == "demo-a"
    embedded = httpx.post(second.url + "/v1/embeddings", headers={"Authorization": f"Bearer {key}"},
                          json={"model": EMBED, "input": "x"})
    assert embedded.status_code == 200 and embedded.headers["x-alltoken-provider"] == "demo-a"
    models = listed(second, key)
    assert "acme/solo-b" not in models and models[CHAT] == ["demo-a"]

    first.cli("models", "restrict", "--account", account, "--allow-providers", "demo-b")
    assert everywhere(gateways, lambda g: chat(g, key).headers.get("x-alltoken-provider") == "demo-b")
    assert chat(second, key, model="acme/solo-b").status_code == 200
    assert listed(second, key)[CHAT] == ["demo-b"]
    shown = first.cli("models", "restrict", "--account", account, "--deny", "acme/solo-b")  # models join providers
    assert shown["allow_providers"] == ["demo-b"] and shown["deny_models"] == ["acme/solo-b"]

    audited = [(e["action"], e["details"]) for e in first.cli("audit-log", "--target", account)
               if e["action"] == "models.restrict"]
    assert audited == [("models.restrict", {"account_id": account, "deny_providers": "demo-b"}),
                       ("models.restrict", {"account_id": account, "allow_providers": "demo-b"}),
                       ("models.restrict", {"account_id": account, "deny": "acme/solo-b"})]


def test_the_admin_api_reads_replaces_and_clears_restrictions(gateways, admin_key):
    first, second = gateways
    account, key = first.new_key()
    path = f"/api/admin/accounts/{account}/model-restrictions"
    auth = {"Authorization": f"Bearer {admin_key}"}
    assert httpx.get(first.url + path, headers=auth).json() == {
        "allow_models": None, "deny_models": None, "allow_providers": None, "deny_providers": None}
    put = httpx.put(first.url + path, headers=auth, json={"deny_models": [CHAT], "deny_providers": ["demo-a"]})
    assert put.status_code == 200 and put.json()["deny_models"] == [CHAT], put.text
    assert code_of(chat(first, key)) == "model_not_allowed"   # at once in the process that took it
    assert everywhere(gateways, lambda g: code_of(chat(g, key)) == "model_not_allowed")
    assert listed(second, key) == {EMBED: ["demo-b"], "acme/solo-b": ["demo-b"], "alltoken/demo-image": ["demo-b"]}
    replaced = httpx.put(first.url + path, headers=auth, json={"allow_models": [EMBED]}).json()
    assert replaced == {"allow_models": [EMBED], "deny_models": None, "allow_providers": None,
                        "deny_providers": None}
    assert everywhere(gateways, lambda g: set(listed(g, key)) == {EMBED})
    both = httpx.put(first.url + path, headers=auth, json={"allow_models": [CHAT], "deny_models": [EMBED]})
    assert both.status_code == 400 and "not both" in both.json()["error"]["message"]
    assert httpx.put(first.url + "/api/admin/accounts/acct_missing/model-restrictions", headers=auth,
                     json={"deny_models": [CHAT]}).status_code == 404
    user = httpx.get(first.url + path, headers={"Authorization": f"Bearer {key}"})
    assert user.status_code == 403 and code_of(user) == "admin_only"
    assert httpx.delete(first.url + path, headers=auth).status_code == 204
    assert everywhere(gateways, lambda g: chat(g, key).status_code == 200)

    entries = [e for e in first.cli("audit-log", "--target", account) if e["action"] == "models.restrict"]
    assert [e["details"] for e in entries] == [{"deny_models": [CHAT], "deny_providers": ["demo-a"]},
                                               {"allow_models": [EMBED]}, {"clear": True}]
    assert all(e["actor"].startswith("key:") and e["address"] == "127.0.0.1" for e in entries)


def test_the_cli_needs_one_kind_of_change(gateways):
    first, _ = gateways
    account, _ = first.new_key()
    for args in ((), ("--clear", "--deny", CHAT)):
        with pytest.raises(CliError) as caught:
            first.cli("models", "restrict", "--account", account, *args)
        assert caught.value.code == 2
    with pytest.raises(CliError, match="not both"):
        first.cli("models", "restrict", "--account", account, "--allow", CHAT, "--deny", EMBED)
    with pytest.raises(CliError, match="no account acct_missing"):
        first.cli("models", "restrict", "--account", "acct_missing", "--deny", CHAT)
