"""The checksums of the SQL store's order and history rows.

Every history row and every order row carries a ``checksum`` over the documents
of the order's history (:class:`_Chain`): a history row's is the hash of the documents of
versions 1 to its own, in order, the order row's the hash of those of all its history rows
followed by the order's document (BLAKE2b, 16 bytes, in hex). An order whose row's checksum
matches what its documents hash to was written by the store (or by another orderflow
store), so the store may read it back without checking every value again (:mod:`.trusted`);
rows changed by hand (or written before checksums) do not match, and are read the strict
way, which refuses what does not hold together. A checksum is not a signature: it tells the
store's own writes from others, it does not keep out someone who can write the tables and
hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

_HASH_PERSON: Final = b"orderflow.sql"


class _Chain:
    """The running hash of an order's history documents, versions 1 to ``length``.

    Each document is hashed with its length in front, so that no two lists of documents
    hash alike by moving text from one to the next. A chain is never changed once made:
    :meth:`extended` makes a new one.
    """

    __slots__ = ("_hash", "length")

    def __init__(self) -> None:
        self._hash = hashlib.blake2b(digest_size=16, person=_HASH_PERSON)
        self.length = 0

    def extended(self, documents: Sequence[str]) -> _Chain:
        """The chain with these documents after the ones it has."""
        grown = _new_chain(_Chain)
        state = grown._hash = self._hash.copy()
        for document in documents:
            data = document.encode("utf-8", "surrogatepass")
            state.update(b"%d:" % len(data))
            state.update(data)
        grown.length = self.length + len(documents)
        return grown

    def checksums(self, documents: Sequence[str]) -> tuple[_Chain, list[str]]:
        """The chain extended with these documents, and the checksum after each of them."""
        grown = self
        found = []
        for document in documents:
            grown = grown.extended((document,))
            found.append(grown.checksum())
        return grown, found

    def checksum(self) -> str:
        """The checksum of the history row of version ``length``."""
        return self._hash.hexdigest()

    def sealed(self, document: str) -> str:
        """The checksum of the order row whose document this is."""
        return self.extended((document,)).checksum()


_new_chain = object.__new__
