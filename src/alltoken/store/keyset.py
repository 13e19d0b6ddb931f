"""Keyset-pagination cursors: where a page newest-first by (created_at, id) stopped, as an opaque string.

Each listing names the shape of its ids; the cursor is "<microseconds since 1970>.<id>"."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class KeysetPosition:
    created_at: datetime
    id: object

    ID_PATTERN: ClassVar[str] = r"\d+"       # what a well-formed id of this listing looks like
    ID_TYPE: ClassVar[type] = int

    def encode(self) -> str:
        return f"{(self.created_at - _EPOCH) // timedelta(microseconds=1)}.{self.id}"

    @classmethod
    def decode(cls, cursor: str):
        found = re.match(rf"^(-?\d{{1,20}})\.({cls.ID_PATTERN})$", cursor)
        if not found:
            raise ValueError("not a cursor from a previous page: pass next_cursor as it was returned")
        try:
            return cls(_EPOCH + timedelta(microseconds=int(found.group(1))), cls.ID_TYPE(found.group(2)))
        except OverflowError:   # a time no page ever stopped at
            raise ValueError("not a cursor from a previous page: pass next_cursor as it was returned") from None
