"""When and from where each key was last used, kept in memory and written in batches (with the
usage records, analytics/recorder.py): at most one write per key per flush, never one per request."""

from datetime import datetime

from alltoken.ids import utcnow


class KeyUseLog:
    def __init__(self):
        self._pending: dict[str, tuple[datetime, str | None]] = {}

    def note(self, key_id: str, address: str | None) -> None:
        self._pending[key_id] = (utcnow(), address)

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def take(self) -> list[dict]:
        """Everything noted since the last take, as rows for an executemany update."""
        pending, self._pending = self._pending, {}
        return [{"key": key_id, "at": at, "address": address} for key_id, (at, address) in pending.items()]

    def put_back(self, rows: list[dict]) -> None:
        """Rows whose write failed, unless the key was used again since."""
        for row in rows:
            self._pending.setdefault(row["key"], (row["at"], row["address"]))
