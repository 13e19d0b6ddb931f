import contextlib
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Page, async_playwright, expect

from alltoken.store.db import create_engine
from alltoken.store.migrate import upgrade_to_head

from .billing_invariants import assert_billing_invariants, now
from .cluster import Cluster
from .databases import create_postgres_database, drop_postgres_database, migrated_sqlite, postgres_url
from .deployments import Deployment
from .fakes import anthropic_upstream
from .fakes.anthropic_upstream import FakeAnthropic
from .fakes.openai_upstream import API_KEY, FakeOpenAI
from .fakes.smtp_inbox import running_inbox
from .harness import Gateway
from .password_cost import use_test_cost

use_test_cost()   # the in-process CLI and helpers hash as the forked gateways do

# The longest test modules, longest first (summed test times in a parallel run, about 140 s down to 30 s):
# they start first, so a parallel run (scripts/test: a module at a time per process, in this order) ends on
# short modules instead of waiting for one long one started last.
LONGEST_MODULES = ("test_console", "test_team_sessions", "test_console_admin", "test_authorization_matrix",
                   "test_account_owner_actions", "test_api_fuzz_key", "test_api_fuzz_session", "test_rate_limits",
                   "test_rate_limits_redis", "test_stripe_topups", "test_team_takeover", "test_api_fuzz_admin",
                   "test_console_sessions", "test_console_usage_billing", "test_low_balance_email",
                   "test_scale_credits", "test_provider_gemini", "test_studio_key", "test_images_openai",
                   "test_account_deletion", "test_team_api", "test_console_settings", "test_admin_console_api",
                   "test_teams_store", "test_console_studio", "test_team_consent")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: place for place, name in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))   # stable: the rest keep their order


@pytest.fixture(scope="session")
def fake_openai():
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def upstream(fake_openai):
    fake_openai.reset()
    return fake_openai


def openai_config(fake: FakeOpenAI, **extra) -> dict:
    return {"providers": [{"id": "openai", "type": "openai", "api_key": API_KEY, "base_url": fake.base_url}], **extra}


@pytest.fixture(scope="module")
def smtp_server():
    """A real local SMTP server (aiosmtpd) for the module's gateway: (its inbox, its port)."""
    with running_inbox() as mail:
        yield mail


def smtp_config(port: int, sender: str = "accounts@alltoken.test") -> dict:
    """`smtp:` settings for the local server: plain SMTP, no login."""
    return {"host": "127.0.0.1", "port": port, "security": "none", "from": sender}


@pytest.fixture(scope="module")
def fuzz_gateway(tmp_path_factory):
    """A gateway for one schema-fuzzing module (tests/api_fuzzing.py): each module fuzzes its own."""
    from .api_fuzzing import fuzzed_gateway  # schemathesis, only where a module fuzzes

    with fuzzed_gateway(tmp_path_factory.mktemp("fuzz")) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_gateway):
    from .api_fuzzing import api_schema

    return api_schema(fuzz_gateway)


@pytest.fixture(scope="session")
def fake_anthropic():
    fake = FakeAnthropic().start()
    yield fake
    fake.stop()


def anthropic_config(fake: FakeAnthropic) -> dict:
    return {"providers": [{"id": "anthropic", "type": "anthropic", "api_key": anthropic_upstream.API_KEY,
                           "base_url": fake.base_url}]}


@pytest.fixture(scope="module")
def fakes():
    """Two OpenAI upstreams, for a model with a primary and a backup route."""
    primary, backup = FakeOpenAI().start(), FakeOpenAI().start()
    yield primary, backup
    primary.stop()
    backup.stop()


@pytest.fixture(scope="session")
def demo_gateway(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("demo")).start()
    yield gateway
    assert_billing_invariants(gateway)   # every account, once more: a late leak shows here
    gateway.stop()


@pytest.fixture(scope="session")
def openai_gateway(tmp_path_factory, fake_openai):
    gateway = Gateway(tmp_path_factory.mktemp("openai"), openai_config(fake_openai)).start()
    yield gateway
    assert_billing_invariants(gateway)
    gateway.stop()


@pytest.fixture(scope="session", params=["sqlite", "redis"])
def deployment(request, tmp_path_factory, fake_openai, openai_gateway):
    """The OpenAI-upstream deployment on each credit book (tests/deployments.py)."""
    if request.param == "sqlite":
        yield Deployment("sqlite", openai_gateway)
        return
    nodes = Cluster(tmp_path_factory.mktemp("redis-book"), 1, openai_config(fake_openai),
                    redis_url="redis://127.0.0.1:6379/2").start()
    yield Deployment("redis", nodes)
    nodes.stop()


@pytest.fixture(autouse=True)
def billing_invariants(request):
    """After every test that used a running gateway (or cluster), the accounts it made keep the billing
    invariants (tests/billing_invariants.py): nothing reserved, balance = ledger sum, no balance below zero."""
    started = now()
    yield
    holds_lapse = request.node.get_closest_marker("holds_lapse") is not None
    for gateway in _gateways_of(request.node.funcargs.values()):
        assert_billing_invariants(gateway, since=started, holds_may_remain=holds_lapse)


def _gateways_of(values) -> list[Gateway]:
    """The gateways among a test's fixture values: alone, in a Cluster, a tuple (gateway_pair), or a
    Deployment."""
    found: dict[int, Gateway] = {}
    for value in values:
        if isinstance(value, Gateway):
            found[id(value)] = value
        elif isinstance(value, Cluster):
            found.update((id(gateway), gateway) for gateway in value.gateways)
        elif isinstance(value, (list, tuple)) or isinstance(value, Deployment):
            found.update((id(gateway), gateway) for gateway in
                         _gateways_of(value if isinstance(value, (list, tuple)) else [value.nodes]))
    return list(found.values())


@pytest.fixture(scope="module")
def admin_key(gateways):
    """A key of the administrator's account, on the test module's own `gateways` fixture."""
    return gateways[0].admin_key()


CHROMIUM = "/usr/bin/chromium"   # Debian's (scripts/setup installs it); Playwright downloads no browser
# Assertions wait as long as the pages' actions do (open_page's default): a sign-in or a password change
# hashes a password, which takes longer while other test processes keep the cores busy.
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
async def chromium():
    """One headless Chromium for the session's browser tests, driven by Playwright's async API (its
    sync API would take over the thread's event loop for the rest of the session)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def open_page(chromium, gateway):
    """`await open_page(color_scheme=...)`: a page in a fresh browser context (no cookies). The test fails
    if the page breaks the Content-Security-Policy or throws."""
    contexts, problems = [], []

    async def open_one(color_scheme: str = "light", width: int = 1280) -> Page:
        context = await chromium.new_context(base_url=gateway.url, color_scheme=color_scheme,
                                             viewport={"width": width, "height": 800})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = await context.new_page()
        page.on("console", lambda message: "Content Security Policy" in message.text and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        return page

    yield open_one
    for context in contexts:
        await context.close()
    assert problems == []


@asynccontextmanager
async def fresh_postgres_database(prefix: str = "alltoken_test", migrated: bool = False) -> AsyncIterator[str]:
    """A new database on the machine's PostgreSQL, empty or `migrated` (to head): its URL; dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        await create_postgres_database(name, migrated)
        yield postgres_url(name)
    finally:
        await drop_postgres_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request, tmp_path):
    """A database at head on each backend. A copy of the session's migrated template; a test marked
    `empty_database` gets an empty one and migrates it itself."""
    empty = request.node.get_closest_marker("empty_database") is not None
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "sqlite":
            path = tmp_path / "store.db"
            if not empty:
                shutil.copyfile(migrated_sqlite(), path)
            url = f"sqlite:///{path}"
        else:
            url = await stack.enter_async_context(fresh_postgres_database(migrated=not empty))
        engine = create_engine(url)
        await upgrade_to_head(engine)
        yield engine
        await engine.dispose()


@pytest.fixture(scope="session")
def fake_openai_images():
    """A fake OpenAI Images API (tests/fakes/openai_images.py)."""
    from .fakes.openai_images import FakeOpenAIImages

    fake = FakeOpenAIImages().start()
    yield fake
    fake.stop()


@pytest.fixture
def images_upstream(fake_openai_images):
    fake_openai_images.reset()
    return fake_openai_images
