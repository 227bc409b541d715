"""The key that tells when two shipping addresses are the same place (RK-1).

The address check of RK-1 counts the accounts whose orders go to one address. Stores find
those orders with :meth:`~orderflow.ports.OrderStore.find_by_address`, from an index on
:func:`address_key`: every store computes the key with this one function, so the in-memory
store and the SQL store agree on which addresses are the same.

Two addresses are the same place when their location parts are, once each part is put in a
canonical form: Unicode NFKC (full-width digits and letters become their ordinary forms),
case folded, runs of whitespace made one space, leading and trailing whitespace dropped.
The location parts are ``line1``, ``line2``, ``city``, ``region``, ``postal_code`` and
``country``; the recipient and the phone are not part of the key, since orders from many
accounts to one place usually name different recipients. Punctuation and abbreviations are
left as they are: ``"12 Wensan Rd."`` and ``"12 Wensan Road"`` are two places to the key.

The key is the SHA-256 of that canonical form, in hex, so a store's index holds no address
in plain text. It is a pseudonym, not anonymity: addresses are few enough that anyone who can
read the index and guess an address can test the guess. An address without a street line, a
city or a country locates nothing (it is incomplete, LC-2): it has no key, and no order is
found by it.
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import lru_cache
from typing import Final

from orderflow.errors import InvalidInput
from orderflow.model import Address

__all__ = ["ADDRESS_KEY_LENGTH", "LOCATION_PARTS", "address_key", "canonical_location"]

LOCATION_PARTS: Final = ("line1", "line2", "city", "region", "postal_code", "country")
"""The parts of an :class:`~orderflow.Address` that say where it is, in key order."""
ADDRESS_KEY_LENGTH: Final = 64
"""The length of a key: a SHA-256 in hex."""
_REQUIRED: Final = ("line1", "city", "country")
_DOMAIN: Final = "orderflow.address.1"
"""Written before the parts, so that a later canonical form gets other keys."""


def _canonical(part: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", part).casefold().split())


def canonical_location(address: Address) -> tuple[str, ...] | None:
    """The location parts of an address in their canonical form, in
    :data:`LOCATION_PARTS` order; ``None`` when it has no street line, city or country.

    Args:
        address: the address.

    Returns:
        The canonical parts, or ``None``.

    Raises:
        InvalidInput: ``address`` is not an :class:`~orderflow.Address`.
    """
    if not isinstance(address, Address):
        raise InvalidInput("address", address, "must be an Address")
    parts = tuple(_canonical(getattr(address, name)) for name in LOCATION_PARTS)
    located = dict(zip(LOCATION_PARTS, parts, strict=True))
    if not all(located[name] for name in _REQUIRED):
        return None
    return parts


@lru_cache(maxsize=4096)
def _key(address: Address) -> str | None:
    parts = canonical_location(address)
    if parts is None:
        return None
    # The parts never hold a NUL (an Address refuses one): the joined text is unambiguous.
    text = "\x00".join((_DOMAIN, *parts))
    return hashlib.sha256(text.encode()).hexdigest()


def address_key(address: Address) -> str | None:
    """The key of the place an address names: equal for two addresses exactly when their
    location parts are equal in canonical form (see the module's docstring).

    Args:
        address: the address.

    Returns:
        64 lower-case hex digits, or ``None`` for an address without a street line, a city
        or a country.

    Raises:
        InvalidInput: ``address`` is not an :class:`~orderflow.Address`.
    """
    if not isinstance(address, Address):
        raise InvalidInput("address", address, "must be an Address")
    return _key(address)
