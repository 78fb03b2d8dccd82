"""Walking the pages of the job list, stopping where a server would otherwise keep a loop going."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

from airflow_provider_payjobs.client.answer_shapes import page_count


class RepeatedPage(Exception):
    """The server sent the same jobs as on the page before: it ignores ``page``, or loops."""

    def __init__(self, page: int) -> None:
        self.page = page
        super().__init__(f"page {page} lists the same jobs as page {page - 1}")


class PageLimitReached(Exception):
    """More pages than the caller allows."""

    def __init__(self, max_pages: int) -> None:
        self.max_pages = max_pages
        super().__init__(f"the list goes on past {max_pages} pages")


def job_pages(
    list_page: Callable[[int], dict[str, Any]], page_size: int, max_pages: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """
    The payload of each page, from page 1 until the last.

    The last page is the one ``meta.pageCount`` names, or, without a count, the first that is
    not full (a full page may have a next one: stopping early could hide a job).

    :param list_page: fetches one checked page (the hook's ``list_payment_jobs``).
    :raises RepeatedPage: a page lists exactly the jobs of the page before.
    :raises PageLimitReached: the list has more than ``max_pages`` pages.
    """
    previous: list[str] | None = None
    for page in count(1):
        if max_pages is not None and page > max_pages:
            raise PageLimitReached(max_pages)
        result = list_page(page)
        payload = result["payload"]
        tokens = [job["token"] for job in payload]
        if payload and tokens == previous:
            raise RepeatedPage(page)
        yield payload
        pages = page_count(result)
        last = len(payload) < page_size if pages is None else page >= pages
        if not payload or last:
            return
        previous = tokens
