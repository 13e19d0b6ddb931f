"""GET /status: public provider health, as JSON or (for browsers) a small page."""

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from alltoken.http.gateway import gateway_of
from alltoken.http.plumbing import json_response
from alltoken.routing.status import route_statuses


async def status(request: Request) -> Response:
    rows = route_statuses(gateway_of(request))
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(_page(rows))
    return json_response({"routes": rows})


_COLUMNS = (("provider", "Provider"), ("upstream_model", "Model"), ("breaker", "Breaker"),
            ("success_rate", "Success (5 min)"), ("latency_ms_p50", "Latency p50 ms"),
            ("latency_ms_p90", "p90 ms"), ("ttft_ms_p50", "First token p50 ms"),
            ("output_tokens_per_s_p50", "Tokens/s p50"), ("requests", "Requests"), ("last_error", "Last error"))


def _page(rows: list[dict]) -> str:
    head = "".join(f"<th>{label}</th>" for _, label in _COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{_cell(row[name])}</td>" for name, _ in _COLUMNS) + "</tr>"
                   for row in rows)
    return ("<!doctype html><html lang=en><meta charset=utf-8><title>AllToken status</title>"
            "<style>body{font:14px system-ui;margin:2rem}table{border-collapse:collapse}"
            "td,th{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:left}</style>"
            f"<h1>Provider status</h1><table><tr>{head}</tr>{body}</table></html>")


def _cell(value) -> str:
    return "–" if value is None else html.escape(str(value))
