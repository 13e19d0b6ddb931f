"""Admin endpoints for redemption codes: list them with their redemptions, and make a batch (as
`alltoken codes create` does). A new code is shown once, in the answer that makes it: only its hash is kept."""

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from alltoken.billing.code_batches import code_list
from alltoken.billing.codes import code_hash, create_codes
from alltoken.http.api.audited import Audited
from alltoken.http.api.callers import AccountCaller, admin
from alltoken.http.errors import bad_request
from alltoken.http.gateway import gateway_of
from alltoken.money import units_to_usd_str, usd_to_units
from alltoken.store.models import RedemptionCode

router = APIRouter(prefix="/admin/codes", tags=["admin"])

MAX_CODE_UNITS = usd_to_units("100000")    # a typo of a few zeros should not mint a fortune


class CodeView(BaseModel):
    batch_id: str
    hint: str = Field(description="The code's last four characters")
    amount_usd: str
    uses_left: int
    redemptions: int = Field(description="How many accounts redeemed it")
    expires_at: datetime | None
    created_at: datetime


class CodeList(BaseModel):
    data: list[CodeView]


class CodesCreate(BaseModel):
    amount_usd: str = Field(description="Credit per redemption, USD as a decimal string")
    count: int = Field(1, ge=1, le=10_000, description="How many codes")
    uses: int = Field(1, ge=1, le=1_000_000, description="Redemptions each code allows (by different accounts)")
    expires_at: AwareDatetime | None = Field(None, description="When the codes stop working")


class CreatedCodes(BaseModel):
    batch_id: str
    codes: list[str] = Field(description="Shown once: only their hashes are stored")
    amount_usd: str
    uses: int
    expires_at: datetime | None


@router.get("", response_model=CodeList)
async def list_codes(request: Request, batch_id: str | None = Query(None, max_length=40),
                     limit: int = Query(200, ge=1, le=1000), _: AccountCaller = Depends(admin)) -> CodeList:
    """Codes newest first (or one batch's), with how many times each was redeemed; never the codes themselves."""
    async with gateway_of(request).sessions() as session:
        rows = await code_list(session, limit, batch_id)
    return CodeList(data=[CodeView(**{k: v for k, v in row.items() if k != "amount_units"},
                                   amount_usd=units_to_usd_str(row["amount_units"], min_places=2)) for row in rows])


@router.post("", response_model=CreatedCodes, status_code=201)
async def make_codes(body: CodesCreate, request: Request, audited: Audited,
                     caller: AccountCaller = Depends(admin)) -> CreatedCodes:
    try:
        amount_units = usd_to_units(body.amount_usd)
        if amount_units > MAX_CODE_UNITS:
            raise ValueError(f"a code may be worth at most {units_to_usd_str(MAX_CODE_UNITS, min_places=0)} USD")
        async with audited.begin(caller.actor) as tx:
            codes = await create_codes(tx.session, body.amount_usd, count=body.count, uses=body.uses,
                                       expires_at=body.expires_at)
            batch_id = (await tx.session.get_one(RedemptionCode, code_hash(codes[0]))).batch_id
            await tx.audit("codes.create", f"batch:{batch_id}",
                           {"count": body.count, "uses": body.uses, "amount_units": amount_units,
                            "expires_at": body.expires_at.isoformat() if body.expires_at else None})
    except ValueError as exc:   # MoneyFormatError too
        param = "expires_at" if "expiry" in str(exc) else "amount_usd"
        raise bad_request(str(exc), param=param) from None
    return CreatedCodes(batch_id=batch_id, codes=codes, amount_usd=units_to_usd_str(amount_units, min_places=2),
                        uses=body.uses, expires_at=body.expires_at)
