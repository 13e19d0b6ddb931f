"""A fake Stripe API: the few endpoints top-ups use, taking Stripe's form-encoded requests and answering
Stripe-shaped JSON. It keeps the Stripe side of each payment (customers, Checkout Sessions,
PaymentIntents) and makes the events Stripe would send about them; `deliver` signs and posts an event to
a webhook endpoint the way Stripe does (Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t.payload">).

Everything it received is kept in `requests` as (method, path, params, headers).
"""

import hashlib
import hmac
import re
import secrets
import threading
import time
from urllib.parse import parse_qsl

import httpx
import orjson
from aiohttp import web

from .server import ThreadedServer

SECRET_KEY = "sk_test_alltoken_fake"
WEBHOOK_SECRET = "whsec_alltoken_fake"


class FakeStripe:
    def __init__(self):
        app = web.Application()
        app.router.add_post("/v1/customers", self._create_customer)
        app.router.add_post("/v1/checkout/sessions", self._create_session)
        app.router.add_post("/v1/payment_intents", self._create_intent)
        app.router.add_get("/v1/payment_intents/{id}", self._get_intent)
        self._server = ThreadedServer(app)
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str, dict, dict]] = []
        self.customers: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}
        self.decline_off_session = False     # auto top-up charges fail with card_declined while set
        self._idempotent: dict[str, tuple[int, dict]] = {}
        self._session_intent_data: dict[str, dict] = {}

    @property
    def base_url(self) -> str:
        return self._server.url

    def start(self) -> "FakeStripe":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def posted(self, path: str) -> list[dict]:
        """The params of every POST to `path`, in order."""
        return [params for method, got, params, _ in self.requests if method == "POST" and got == path]

    # --- the API ---

    async def _create_customer(self, request: web.Request) -> web.Response:
        return await self._idempotently(request, lambda params: self._customer(params))

    def _customer(self, params: dict) -> tuple[int, dict]:
        customer = {"id": _id("cus"), "object": "customer", "email": params.get("email"),
                    "metadata": params.get("metadata", {}), "created": int(time.time()), "livemode": False}
        self.customers[customer["id"]] = customer
        return 200, customer

    async def _create_session(self, request: web.Request) -> web.Response:
        return await self._idempotently(request, self._session)

    def _session(self, params: dict) -> tuple[int, dict]:
        if params.get("mode") != "payment":
            return _error(400, "invalid_request_error", "Missing required param: mode.", param="mode")
        if params.get("customer") not in self.customers:
            return _error(400, "invalid_request_error", f"No such customer: '{params.get('customer')}'",
                          param="customer", code="resource_missing")
        items = _as_list(params.get("line_items"))
        if not items or not params.get("success_url"):
            return _error(400, "invalid_request_error", "Missing required param: line_items or success_url.")
        total = sum(int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items)
        session_id = _id("cs_test")
        session = {"id": session_id, "object": "checkout.session", "mode": "payment", "status": "open",
                   "payment_status": "unpaid", "amount_subtotal": total, "amount_total": total,
                   "currency": items[0]["price_data"]["currency"], "customer": params["customer"],
                   "client_reference_id": params.get("client_reference_id"), "metadata": params.get("metadata", {}),
                   "payment_intent": None, "success_url": params["success_url"],
                   "cancel_url": params.get("cancel_url"), "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                   "created": int(time.time()), "livemode": False}
        self.sessions[session_id] = session
        self._session_intent_data[session_id] = params.get("payment_intent_data", {})
        return 200, session

    async def _create_intent(self, request: web.Request) -> web.Response:
        return await self._idempotently(request, self._intent)

    def _intent(self, params: dict) -> tuple[int, dict]:
        missing = [name for name in ("amount", "currency", "customer", "payment_method") if not params.get(name)]
        if missing:
            return _error(400, "invalid_request_error", f"Missing required param: {missing[0]}.", param=missing[0])
        intent = self._new_intent(int(params["amount"]), params["currency"], params["customer"],
                                  params["payment_method"], params.get("metadata", {}), setup_future_usage=None)
        if params.get("confirm") != "true":
            intent["status"] = "requires_confirmation"
            return 200, intent
        if self.decline_off_session:
            self._decline(intent)
            body = _error(402, "card_error", "Your card was declined.", code="card_declined")[1]
            body["error"] |= {"decline_code": "generic_decline", "payment_intent": intent,
                              "payment_method": {"id": params["payment_method"], "object": "payment_method"}}
            return 402, body
        intent["status"] = "succeeded"
        return 200, intent

    async def _get_intent(self, request: web.Request) -> web.Response:
        self._record(request, {})
        if not _authorized(request):
            return _json(*_unauthorized())
        intent = self.intents.get(request.match_info["id"])
        if intent is None:
            return _json(*_error(404, "invalid_request_error", f"No such payment_intent: '{request.match_info['id']}'",
                                 code="resource_missing"))
        return _json(200, intent)

    async def _idempotently(self, request: web.Request, create) -> web.Response:
        """Stripe answers a repeated idempotency key with the first answer, and does nothing again."""
        params = _parse_form((await request.read()).decode())
        self._record(request, params)
        if not _authorized(request):
            return _json(*_unauthorized())
        key = request.headers.get("Idempotency-Key")
        with self._lock:
            if key and key in self._idempotent:
                return _json(*self._idempotent[key], headers={"Idempotent-Replayed": "true"})
            status, body = create(params)
            if key:
                self._idempotent[key] = (status, body)
        return _json(status, body)

    def _record(self, request: web.Request, params: dict) -> None:
        self.requests.append((request.method, request.path, params, dict(request.headers)))

    # --- the customer pays, a bank settles, a cardholder disputes: what Stripe then knows ---

    def pay(self, session_id: str, *, delayed: bool = False) -> tuple[dict, dict]:
        """The customer pays on the Checkout page (by bank debit when `delayed`): the session and its
        PaymentIntent as they then are."""
        session, intent = self.sessions[session_id], self._session_intent(session_id)
        intent |= {"status": "processing" if delayed else "succeeded", "payment_method": _id("pm"),
                   "last_payment_error": None}
        session |= {"status": "complete", "payment_status": "unpaid" if delayed else "paid"}
        return dict(session), dict(intent)

    def settle(self, session_id: str, *, succeeded: bool) -> tuple[dict, dict]:
        """A delayed payment's bank answers."""
        session, intent = self.sessions[session_id], self._session_intent(session_id)
        if succeeded:
            intent["status"], session["payment_status"] = "succeeded", "paid"
        else:
            self._decline(intent)
        return dict(session), dict(intent)

    def decline_attempt(self, session_id: str) -> dict:
        """A card declined on the Checkout page; the customer may still pay another way (same PaymentIntent)."""
        intent = self._session_intent(session_id)
        intent["payment_method"] = _id("pm")
        self._decline(intent)
        return dict(intent)

    def _session_intent(self, session_id: str) -> dict:
        """A Checkout Session has one PaymentIntent, made at the first attempt to pay."""
        session = self.sessions[session_id]
        if session["payment_intent"] is None:
            data = self._session_intent_data[session_id]
            session["payment_intent"] = self._new_intent(
                session["amount_total"], session["currency"], session["customer"], None, data.get("metadata", {}),
                data.get("setup_future_usage"))["id"]
        return self.intents[session["payment_intent"]]

    def dispute(self, intent_id: str, amount: int | None = None) -> dict:
        intent = self.intents[intent_id]
        return {"id": _id("dp"), "object": "dispute", "amount": intent["amount"] if amount is None else amount,
                "currency": intent["currency"], "charge": _id("ch"), "payment_intent": intent_id,
                "reason": "fraudulent", "status": "needs_response", "created": int(time.time()), "livemode": False}

    def _new_intent(self, amount: int, currency: str, customer: str, card: str | None, metadata: dict,
                    setup_future_usage: str | None) -> dict:
        intent = {"id": _id("pi"), "object": "payment_intent", "amount": amount, "amount_received": 0,
                  "currency": currency, "customer": customer, "payment_method": card, "metadata": metadata,
                  "setup_future_usage": setup_future_usage, "status": "requires_payment_method",
                  "last_payment_error": None, "created": int(time.time()), "livemode": False}
        self.intents[intent["id"]] = intent
        return intent

    @staticmethod
    def _decline(intent: dict) -> None:
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {"type": "card_error", "code": "card_declined",
                                        "decline_code": "generic_decline", "message": "Your card was declined."}


def event(kind: str, obj: dict) -> dict:
    """An event as Stripe sends it: a snapshot of `obj` at the time."""
    return {"id": _id("evt"), "object": "event", "api_version": "2025-01-27.acacia", "created": int(time.time()),
            "type": kind, "data": {"object": orjson.loads(orjson.dumps(obj))}, "livemode": False,
            "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None}}


def signature(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's documented scheme: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed by the secret>."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def deliver(url: str, evt: dict, *, secret: str = WEBHOOK_SECRET, header: str | None = "sign") -> httpx.Response:
    """POST the event to a webhook endpoint as Stripe does; `header` None sends no signature, and any other
    string than "sign" is sent as the Stripe-Signature header as it is."""
    payload = orjson.dumps(evt)
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
    if header is not None:
        headers["Stripe-Signature"] = signature(payload, secret) if header == "sign" else header
    return httpx.post(url, content=payload, headers=headers, timeout=30)


def _parse_form(text: str) -> dict:
    """Stripe's form encoding: a[b][0][c]=v nests; lists are indexed keys."""
    root: dict = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


def _as_list(value) -> list:
    if isinstance(value, dict) and all(key.isdigit() for key in value):
        return [value[key] for key in sorted(value, key=int)]
    return []


def _authorized(request: web.Request) -> bool:
    return request.headers.get("Authorization") == f"Bearer {SECRET_KEY}"


def _unauthorized() -> tuple[int, dict]:
    return _error(401, "invalid_request_error", "Invalid API Key provided: sk_test_****")


def _error(status: int, kind: str, message: str, *, param: str | None = None, code: str | None = None):
    error = {"type": kind, "message": message}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
    return status, {"error": error}


def _json(status: int, body: dict, headers: dict | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json",
                        headers={"Request-Id": _id("req"), **(headers or {})})


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"
