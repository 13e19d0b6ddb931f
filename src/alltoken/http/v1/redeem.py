"""Redeeming a code for the caller's account: POST /v1/credits/redeem here, and POST /api/billing/redeem
(http/api/billing/redeem.py) through the same `redeem_for_account`."""

from starlette.requests import Request
from starlette.responses import Response

from alltoken.billing.codes import CodeRefused, redeem
from alltoken.http.auth import authenticate
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of
from alltoken.http.plumbing import endpoint, json_response, read_json_object
from alltoken.money import units_to_usd_str
from alltoken.runtime.gateway import Gateway


async def redeem_for_account(gateway: Gateway, account_id: str, code: object) -> dict[str, str]:
    """Use `code` for the account; the credit and the new balance as decimal USD strings, or a 400 that says why."""
    if not isinstance(code, str) or not code.strip():
        raise bad_request("'code' is required: the redemption code to use", param="code")
    try:
        async with gateway.sessions.begin() as session:
            redeemed = await redeem(session, code, account_id)
    except CodeRefused as refused:
        raise bad_request(str(refused), param="code", code=refused.code) from None
    await gateway.book.catch_up()  # the grant counts in this process at once
    balance = await gateway.book.balance_units(account_id)
    return {"amount_usd": units_to_usd_str(redeemed.amount_units), "balance_usd": units_to_usd_str(balance)}


@endpoint
async def redeem_code(request: Request) -> Response:
    gateway = gateway_of(request)
    caller = await authenticate(request, gateway.auth)
    body, _ = await read_json_object(request, limit=4096)
    return json_response({"data": await redeem_for_account(gateway, caller.account.id, body.get("code"))})
