"""CSV downloads: a line at a time, and whole listings read a page at a time, so memory stays
constant however long the history is."""

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from fastapi.responses import StreamingResponse

PAGE_SIZE = 1000


def csv_line(values: Iterable, lineterminator: str = "\r\n") -> str:
    """One CSV record; None becomes an empty field."""
    out = io.StringIO()
    csv.writer(out, lineterminator=lineterminator).writerow(["" if v is None else v for v in values])
    return out.getvalue()


def csv_download(chunks: AsyncIterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": f'attachment; filename="{filename}"'})


async def paged_csv(columns: Iterable[str], fetch_page: Callable[[object], Awaitable[list]],
                    to_row: Callable[[object], Iterable], after_of: Callable[[object], object]) -> AsyncIterator[str]:
    """The header, then every row: `fetch_page(after)` returns up to PAGE_SIZE items after `after`
    (None: from the start); `after_of(item)` is where the next page starts."""
    yield csv_line(columns)
    after = None
    while True:
        page = await fetch_page(after)
        yield "".join(csv_line(to_row(item)) for item in page)
        if len(page) < PAGE_SIZE:
            return
        after = after_of(page[-1])
