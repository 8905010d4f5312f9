"""/api/v1/search and /api/v1/search/suggest: the site search as JSON (the logic is carepath.search.search)."""

from typing import Literal

from django.conf import settings
from django.http import HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from carepath.api.api import Error, error
from carepath.core.pagecache import mark_public
from carepath.search.search import MAX_RESULTS, SearchQueryError, parse_query, search, suggest

router = Router(tags=["search"])
Q_HELP = "what to search for: words, a name, an abbreviation or an ICD-10-CM code; 1-200 characters"


class SearchParams(Schema):
    q: str = Field("", description=Q_HELP)
    limit: int = Field(10, ge=1, le=50, description="results per page, 1-50")
    page: int = Field(1, ge=1, le=MAX_RESULTS, description=f"page of results; at most {MAX_RESULTS} results in all")


class SearchHitOut(Schema):
    title: str
    url: str = Field(description="the page's address on this site, as Wagtail gives it: /conditions/als/")
    type: Literal["guide", "slideshow"]
    score: float = Field(description="higher is better; above 1 for pages the query names (by vocabulary)")
    snippet: str = Field(description="HTML: escaped text of the page with <mark> around the matched words")


class SearchOut(Schema):
    query: str
    did_you_mean: str | None = Field(description="the query with misspelt words corrected, when any were")
    expanded_with: list[str] = Field(description="names of the concepts the query was expanded with")
    results: list[SearchHitOut]


class SuggestParams(Schema):
    q: str = Field("", description=Q_HELP)


class SuggestionOut(Schema):
    text: str = Field(description="the name that matched what was typed")
    title: str
    url: str
    type: Literal["guide", "slideshow"]


class SuggestOut(Schema):
    query: str
    results: list[SuggestionOut]


@router.get("", response={200: SearchOut, 400: Error}, summary="Search guides and slideshows")
def search_pages(request, params: Query[SearchParams], response: HttpResponse):
    """Best first: pages the query names through the vocabulary (names, lay words, abbreviations, codes,
    near spellings), then full-text hits."""
    try:
        query = parse_query(params.q)
    except SearchQueryError as exc:
        return error(request, exc.parameter, exc.message)
    offset = (params.page - 1) * params.limit
    if offset >= MAX_RESULTS:
        return error(request, "page", f"page {params.page} is past the first {MAX_RESULTS} results.")
    result = search(query, limit=params.limit, offset=offset, request=request)
    mark_public(response, ("content",), settings.PAGE_CACHE_SEARCH_SECONDS)  # its headers go on the answer
    return {
        "query": query.text,
        "did_you_mean": result.did_you_mean,
        "expanded_with": result.concepts,
        "results": [
            {
                "title": hit.title,
                "url": hit.url,
                "type": hit.page_type,
                "score": hit.score,
                "snippet": str(hit.snippet),
            }
            for hit in result.hits
        ],
    }


@router.get("/suggest", response={200: SuggestOut, 400: Error}, summary="Suggestions as you type (at most 10)")
def suggest_pages(request, params: Query[SuggestParams]):
    """Names of guides and slideshows that complete what was typed, from the in-memory vocabulary."""
    try:
        suggestions = suggest(params.q)
    except SearchQueryError as exc:
        return error(request, exc.parameter, exc.message)
    return {
        "query": " ".join(params.q.split()),
        "results": [{"text": s.text, "title": s.title, "url": s.url, "type": s.page_type} for s in suggestions],
    }
