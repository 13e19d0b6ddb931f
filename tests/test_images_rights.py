"""The image-upload warranty (terms §4.8): edits and variations are refused (403, saying what to do)
until the account gives it, through the management API by its owner signed in (password confirmed; a key
only reads whether it was given) or the admin CLI; the acceptance is recorded with the terms version and
time, and covers that account only."""

import httpx
import pytest

from .harness import CliError, Gateway
from .image_helpers import db_rows, picture
from .session_helpers import Console, code_of

TERMS_VERSION = "2026-12-01"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_openai_images):
    from .conftest import openai_config

    gateway = Gateway(tmp_path_factory.mktemp("images-rights"), openai_config(fake_openai_images))
    gateway.cli("terms", "publish", "--version", TERMS_VERSION, "--effective", "2026-01-01T00:00:00Z")
    gateway.start()
    yield gateway
    gateway.stop()


def edit(gateway, key, path="/v1/images/edits", model="openai/gpt-image-1") -> httpx.Response:
    return httpx.post(gateway.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      data={"model": model, "prompt": "x"}, files={"image": ("a.png", picture(), "image/png")})


def terms_api(gateway, method, key) -> httpx.Response:
    return httpx.request(method, gateway.url + "/api/terms/image-uploads", headers={"Authorization": f"Bearer {key}"})


def owner_and_key(gateway) -> tuple[Console, str, str]:
    """A signed-in owner, their account (with credit) and a key of it."""
    owner = Console(gateway)
    gateway.cli("credits", "grant", "--account", owner.own_account, "--usd", "10")
    return owner, owner.own_account, gateway.cli("keys", "create", "--account", owner.own_account)["key"]


def test_uploads_need_the_warranty_accepted_through_the_api_first(gateway, fake_openai_images):
    fake_openai_images.reset()
    owner, account, key = owner_and_key(gateway)
    for path, model in (("/v1/images/edits", "openai/gpt-image-1"), ("/v1/images/variations", "openai/dall-e-2")):
        refused = edit(gateway, key, path, model)
        error = refused.json()["error"]
        assert refused.status_code == 403 and error["code"] == "image_upload_terms_not_accepted"
        assert "section 4.8" in error["message"] and "POST /api/terms/image-uploads" in error["message"]
        assert f"--account {account} --image-uploads" in error["message"]
    assert fake_openai_images.received == []
    assert terms_api(gateway, "GET", key).json() == {"account_id": account, "version": TERMS_VERSION,
                                                     "image_uploads": False, "accepted_at": None}
    assert code_of(terms_api(gateway, "POST", key)) == "session_required"     # a key never gives it
    accepted = owner.reauthenticate().send("POST", "/terms/image-uploads").json()
    assert accepted["account_id"] == account and accepted["version"] == TERMS_VERSION and accepted["image_uploads"]
    assert owner.send("POST", "/terms/image-uploads").json() == accepted    # accepting again changes nothing
    assert terms_api(gateway, "GET", key).json() == accepted
    assert edit(gateway, key).status_code == 200
    assert db_rows(gateway, "SELECT version, image_uploads FROM terms_acceptances WHERE account_id = ?",
                   account) == [(TERMS_VERSION, 1)]


def test_one_accounts_acceptance_does_not_cover_another(gateway):
    first, _, first_key = owner_and_key(gateway)
    _, second_key = gateway.new_key()
    assert first.reauthenticate().send("POST", "/terms/image-uploads").status_code == 200
    assert edit(gateway, first_key).status_code == 200
    assert edit(gateway, second_key).status_code == 403
    assert terms_api(gateway, "GET", second_key).json()["image_uploads"] is False


def test_the_cli_records_the_acceptance_and_the_running_server_honours_it(gateway):
    account, key = gateway.new_key()
    assert edit(gateway, key).status_code == 403
    plain = gateway.cli("terms", "accept", "--account", account)
    assert (plain["version"], plain["image_uploads"]) == (TERMS_VERSION, False)
    assert edit(gateway, key).status_code == 403                       # the terms alone are not the warranty
    warranty = gateway.cli("terms", "accept", "--account", account, "--image-uploads")
    assert set(warranty) == {"account_id", "version", "image_uploads", "accepted_at"}
    assert warranty["image_uploads"] is True and warranty["accepted_at"] > plain["accepted_at"]
    assert edit(gateway, key).status_code == 200
    with pytest.raises(CliError):
        gateway.cli("terms", "accept", "--account", "acct_missing", "--image-uploads")


def test_generations_upload_nothing_and_need_no_warranty(gateway):
    _, key = gateway.new_key()
    response = httpx.post(gateway.url + "/v1/images/generations", headers={"Authorization": f"Bearer {key}"},
                          json={"model": "openai/gpt-image-1", "prompt": "x"}, timeout=30)
    assert response.status_code == 200


def test_the_terms_endpoint_needs_a_valid_key(gateway):
    assert httpx.post(gateway.url + "/api/terms/image-uploads").status_code == 401
    assert terms_api(gateway, "POST", "sk-at-not-a-key").status_code == 401


async def test_the_warranty_is_given_once_per_terms_version_on_every_database(engine):
    from datetime import UTC, datetime

    from alltoken.accounts.service import create_account
    from alltoken.accounts.terms import UNPUBLISHED, UploadRights, give_upload_warranty, publish
    from alltoken.store.db import session_factory

    sessions = session_factory(engine)
    in_effect = {"version": None}
    rights = UploadRights(sessions, lambda: in_effect["version"])
    async with sessions.begin() as session:
        account = await create_account(session, "terms@example.com")
    assert await rights.granted(account.id) is False
    async with sessions.begin() as session:
        before = await give_upload_warranty(session, account.id)          # no terms published yet
        assert (await give_upload_warranty(session, account.id)).id == before.id
    assert before.version == UNPUBLISHED and await rights.granted(account.id) is True
    async with sessions.begin() as session:
        await publish(session, "v2", datetime(2026, 1, 1, tzinfo=UTC))
    in_effect["version"] = "v2"
    assert await rights.granted(account.id) is False                       # a new version needs a new warranty
    async with sessions.begin() as session:
        warranty = await give_upload_warranty(session, account.id)
    assert warranty.version == "v2" and warranty.image_uploads and warranty.accepted_at.tzinfo is not None
    assert await rights.granted(account.id) is True
