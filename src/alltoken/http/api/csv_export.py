"""CSV downloads: a line at a time, and whole listings read a page at a time, so memory stays
constant however long the history is."""

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

from fastapi.responses import StreamingResponse

PAGE_SIZE = 1000
Item = TypeVar("Item")
After = TypeVar("After")


def csv_line(values: Iterable[Any], lineterminator: str = "\r\n") -> str:
    """One CSV record; None becomes an empty field."""
    out = io.StringIO()
    csv.writer(out, lineterminator=lineterminator).writerow(["" if v is None else v for v in values])
    return out.getvalue()


def csv_download(chunks: AsyncIterator[str] | Iterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="{filename}"'})


async def paged_csv(columns: Iterable[str], fetch_page: Callable[[After | None], Awaitable[list[Item]]],
                    to_row: Callable[[Item], Iterable[Any]], after_of: Callable[[Item], After]) -> AsyncIterator[str]:
    """The header, then every row: `fetch_page(after)` returns up to PAGE_SIZE items after `after`
    (None: from the start); `after_of(item)` is where the next page starts."""
    yield csv_line(columns)
    after: After | None = None
    while True:
        page = await fetch_page(after)
        yield "".join(csv_line(to_row(item)) for item in page)
        if len(page) < PAGE_SIZE:
            return
        after = after_of(page[-1])
