"""One deployment per credit book, for the tests that must hold on both: a single gateway process on
SQLite (the in-process book, the session's `openai_gateway`) and one on PostgreSQL and Redis (the Redis
book), both in front of the session's fake OpenAI upstream (conftest `deployment` fixture)."""

import itertools
import re
import sqlite3
from dataclasses import dataclass

from .cluster import Cluster
from .harness import Gateway


@dataclass
class Deployment:
    name: str               # sqlite | redis
    nodes: Gateway | Cluster

    @property
    def gateway(self) -> Gateway:
        """A gateway process: its URL takes requests, its CLI acts on the deployment's database."""
        return self.nodes.gateways[0] if isinstance(self.nodes, Cluster) else self.nodes

    @property
    def url(self) -> str:
        return self.gateway.url

    def rows(self, query: str, *args) -> list[tuple]:
        """Rows of `query` (placeholders `?`) from the deployment's database."""
        if isinstance(self.nodes, Cluster):
            numbers = itertools.count(1)
            return self.nodes.sql(re.sub(r"\?", lambda _: f"${next(numbers)}", query), *args)
        with sqlite3.connect(self.nodes.db_path) as db:
            return db.execute(query, args).fetchall()
