"""/api/admin/*: the platform administrator's endpoints (callers.admin lets only administrators in): model
routes and route health, the audit and moderation logs, accounts (directory, enforcement, model restrictions,
keys, rate limits, billing corrections), uncollected cost, redemption codes, terms versions and the platform's
prices, providers and analytics."""

from fastapi import APIRouter

from alltoken.http.api.admin import (
    accounts,
    audit_log,
    billing,
    codes,
    directory,
    model_routes,
    moderation_log,
    platform,
    rate_limits,
    terms,
    uncollected,
)

router = APIRouter()
for _part in (model_routes, audit_log, billing, uncollected, moderation_log, terms, accounts, rate_limits, directory,
              codes, platform):
    router.include_router(_part.router)
