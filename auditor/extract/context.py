"""What every extractor is given besides the page: one signature for all of them."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint

if TYPE_CHECKING:
    from auditor.extract.chat import Fingerprints


@dataclass(frozen=True)
class ExtractContext:
    """The page's surroundings, as far as extraction needs them.

    ``region`` is the ISO region that numbers written without a country code belong to
    (the company's country, else the page's); ``found`` holds the contact points the
    extractors before this one found on the page (hours attach to them);
    ``chat`` is the audit's chat fingerprint table when it differs from the packaged
    one (``--fingerprints``), so two audits in one process never share it.
    """

    region: str | None = None
    found: tuple[ContactPoint, ...] = ()
    chat: Fingerprints | None = None


NO_CONTEXT = ExtractContext()

# every extractor: extract(page, context) -> contact points, pure
Extractor = Callable[[ParsedPage, ExtractContext], list[ContactPoint]]


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PageMemo(Generic[K, V]):
    """A pure, costly function's answers remembered for one page's extraction.

    A page shows one number or address in its link, its text and its attributes; within
    ``scope()`` each distinct argument is computed once, outside it every call computes.
    Nothing outlives the page, so a page's cost never depends on the pages before it.
    """

    def __init__(self, func: Callable[[K], V]) -> None:
        self.func = func
        self._memo: ContextVar[dict[K, V] | None] = ContextVar(f"memo-{func.__qualname__}", default=None)

    @contextmanager
    def scope(self) -> Iterator[None]:
        token = self._memo.set({})
        try:
            yield
        finally:
            self._memo.reset(token)

    def __call__(self, key: K) -> V:
        memo = self._memo.get()
        if memo is None:
            return self.func(key)
        if key not in memo:
            memo[key] = self.func(key)
        return memo[key]
