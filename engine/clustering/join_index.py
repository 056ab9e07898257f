"""Candidate lookup: which open incidents a new alert could join, without scanning them all.

While an incident still takes new alerts it is indexed under:

- the services of its alerts (a new alert on the same service),
- its roots (a new alert on a service depending on a root, or one a root depends on),
- the hosts of its node-level alerts,
- the tokens of its alerts' text, in two spaces: every incident, and only incidents without a
  catalog root. An alert on a catalog service cannot join an incident whose roots it is unrelated
  to on text alone (the unrelated-service penalty outweighs any similarity), so it only needs the
  second space, which keeps unrelated outages out of its candidates.
- the change event it follows.

Once its time window has passed the incident leaves the index (it may still take re-fires of its
own fingerprints, found by fingerprint instead). Posting lists longer than `max_postings` are
skipped at lookup: a token every incident shares cannot discriminate, and reading it would make
each alert cost grow with the number of incidents.
"""

from __future__ import annotations

from collections.abc import Iterable

IndexKey = tuple[str, str]


def service_key(service: str) -> IndexKey:
    return ("service", service)


def root_key(service: str) -> IndexKey:
    return ("root", service)


def host_key(host: str) -> IndexKey:
    return ("host", host)


def token_key(token: str) -> IndexKey:
    return ("token", token)


def rootless_token_key(token: str) -> IndexKey:
    return ("rootless-token", token)


def change_key(identity: str) -> IndexKey:
    return ("change", identity)


class JoinIndex:
    def __init__(self, max_postings: int) -> None:
        self._postings: dict[IndexKey, set[int]] = {}
        self._keys_of: dict[int, set[IndexKey]] = {}
        self._max_postings = max_postings

    def __contains__(self, incident_id: object) -> bool:
        return incident_id in self._keys_of

    def __len__(self) -> int:
        return len(self._keys_of)

    def keys_of(self, incident_id: int) -> frozenset[IndexKey]:
        return frozenset(self._keys_of.get(incident_id, ()))

    def add(self, incident_id: int, keys: Iterable[IndexKey]) -> None:
        own = self._keys_of.setdefault(incident_id, set())
        for key in keys:
            if key not in own:
                own.add(key)
                self._postings.setdefault(key, set()).add(incident_id)

    def discard(self, incident_id: int, keys: Iterable[IndexKey]) -> None:
        own = self._keys_of.get(incident_id)
        if own is None:
            return
        for key in keys:
            if key in own:
                own.discard(key)
                self._drop_posting(key, incident_id)

    def remove(self, incident_id: int) -> None:
        for key in self._keys_of.pop(incident_id, ()):
            self._drop_posting(key, incident_id)

    def candidates(self, keys: Iterable[IndexKey]) -> set[int]:
        found: set[int] = set()
        for key in keys:
            posting = self._postings.get(key)
            if posting is not None and len(posting) <= self._max_postings:
                found |= posting
        return found

    def _drop_posting(self, key: IndexKey, incident_id: int) -> None:
        posting = self._postings.get(key)
        if posting is not None:
            posting.discard(incident_id)
            if not posting:
                del self._postings[key]
