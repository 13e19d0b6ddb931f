"""POST /v1/credits/redeem: the caller's account redeems a code."""

from starlette.requests import Request
from starlette.responses import Response

from ..billing.codes import CodeRefused, redeem
from ..billing.money import units_to_usd_str
from .auth import authenticate
from .errors import bad_request
from .http import endpoint, json_response, read_json_object


@endpoint
async def redeem_code(request: Request) -> Response:
    state = request.app.state.gateway
    caller = await authenticate(request, state.auth)
    body, _ = await read_json_object(request, limit=4096)
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        raise bad_request("'code' is required: the redemption code to use", param="code")
    try:
        async with state.sessions.begin() as session:
            redeemed = await redeem(session, code, caller.account.id)
    except CodeRefused as refused:
        raise bad_request(str(refused), param="code", code=refused.code) from None
    await state.book.catch_up()  # the grant counts in this process at once
    balance = await state.book.balance_units(caller.account.id)
    return json_response({"data": {"amount_usd": units_to_usd_str(redeemed.amount_units),
                                   "balance_usd": units_to_usd_str(balance)}})
