"""Which identification key answers a query (the reference's algorithm for CV.WS.CUSTID.1)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ucs_graphql.metadata.model import IdentificationKey


def key_terms(key: IdentificationKey) -> list[str]:
    """The query names of a key's attributes, lower case: `attr` for the profile, `ext.attr` otherwise."""
    if key.on_profile:
        return [a.lower() for a in key.attributes]
    return [f"{key.source.lower()}.{a.lower()}" for a in key.attributes]


def covered_prefix(key: IdentificationKey, given: Collection[str]) -> int:
    """How many of the key's attributes, from the left, the query gives."""
    n = 0
    for term in key_terms(key):
        if term not in given:
            break
        n += 1
    return n


def choose_key(keys: Sequence[IdentificationKey], given: Collection[str]) -> tuple[IdentificationKey, int] | None:
    """The key to use and how many of its attributes are covered, or None when no key can be used.

    Keys are tried in creation order: the first one fully covered wins; otherwise the best left-to-right
    prefix score, ties going to the key created first.
    """
    best: tuple[IdentificationKey, int] | None = None
    for key in sorted(keys, key=lambda k: k.seq):
        terms = key_terms(key)
        if all(t in given for t in terms):
            return key, len(terms)
        score = covered_prefix(key, given)
        if score > 0 and (best is None or score > best[1]):
            best = (key, score)
    return best
