from django.conf import settings
from django.shortcuts import render

from carepath.core.pagecache import mark_public
from carepath.search.search import MAX_RESULTS, SearchQueryError, parse_query, search

PER_PAGE = 10
LAST_PAGE = MAX_RESULTS // PER_PAGE


def search_page(request):
    """/search/?q=: the same search as /api/v1/search; bad input gets a 400 page that says what to fix."""
    context = {"q": request.GET.get("q", ""), "error": None, "result": None}
    if "q" not in request.GET:
        return mark_public(render(request, "search/search.html", context))
    try:
        query = parse_query(request.GET["q"])
        page = _page_number(request.GET.get("page", "1"))
    except SearchQueryError as exc:
        context["error"] = exc.message
        return render(request, "search/search.html", context, status=400)
    result = search(query, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE, request=request)
    context.update(
        result=result,
        hits=result.hits[:PER_PAGE],
        page=page,
        first_number=(page - 1) * PER_PAGE + 1,
        previous_page=page - 1 if page > 1 else None,
        next_page=page + 1 if len(result.hits) > PER_PAGE and page < LAST_PAGE else None,
    )
    response = render(request, "search/search.html", context)
    return mark_public(response, ("content",), settings.PAGE_CACHE_SEARCH_SECONDS)


def _page_number(raw):
    if not raw.isdigit() or not 1 <= int(raw) <= LAST_PAGE:
        raise SearchQueryError(f"page must be a whole number from 1 to {LAST_PAGE}.", parameter="page")
    return int(raw)
