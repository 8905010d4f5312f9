"""The versioned JSON API (/api/v1/), its OpenAPI schema at /api/v1/openapi.json."""

from typing import Literal

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from ninja import NinjaAPI, Query, Schema
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import Field

from carepath.core.pagecache import mark_public
from carepath.directory.search import QueryError, parse_query, search_providers

api = NinjaAPI(
    title="CarePath API",
    version="1",
    description="Condition guides, search and the provider directory. Errors are JSON: "
    '{"error": {"parameter": name, "message": text}} with status 400.',
    urls_namespace="api-v1",
    docs_url="/docs",
)


class ErrorDetail(Schema):
    parameter: str | None
    message: str


class Error(Schema):
    error: ErrorDetail


def error(request, parameter, message, status=400):
    return api.create_response(request, {"error": {"parameter": parameter, "message": message}}, status=status)


@api.exception_handler(NinjaValidationError)
def validation_error(request, exc):
    first = exc.errors[0] if exc.errors else {}
    loc = [str(part) for part in first.get("loc", []) if part not in ("query", "body", "path")]
    parameter = loc[-1] if loc else None
    return error(request, parameter, f"{parameter}: {first.get('msg', 'invalid value')}")


class ProviderParams(Schema):
    specialty: str = Field(
        "",
        description="NUCC code (207X00000X) or name (Rheumatology); a classification includes its specializations",
        max_length=100,
    )
    condition: str = Field("", description="a condition guide's slug; stands for its specialties", max_length=100)
    near: str = Field("", description='a 5-digit US ZIP code or "City, ST"', max_length=100)
    radius: int | None = Field(None, ge=1, le=100, description="miles from near, 1-100 (default 25)")
    min_rating: float | None = Field(None, ge=1, le=5, description="lowest average star rating, 1-5")
    accepting: bool | None = Field(None, description="accepting new patients")
    sort: Literal["best", "distance", "rating"] = "best"
    page: int = Field(1, ge=1, le=10_000)


class Rating(Schema):
    average: float | None = Field(description="raw average of published reviews")
    count: int
    score: float = Field(description="Bayesian average used for ordering (shrunk toward the site mean)")


class ProviderOut(Schema):
    npi: str
    name: str
    credential: str
    specialties: list[str]
    distance_miles: float | None
    rating: Rating
    accepting_new_patients: bool | None
    synthetic: bool = Field(description="true for demo data, not a real provider")
    url: str


class ProviderPage(Schema):
    count: int = Field(description="how many providers match; with count_capped, a lower bound")
    count_capped: bool = Field(
        description="true where thousands match (a common specialty in a big city): count is then 'at least'"
    )
    next: str | None
    results: list[ProviderOut]


def provider_json(provider, url):
    return {
        "npi": provider.npi,
        "name": provider.display_name,
        "credential": provider.credential,
        "specialties": [t.short_name for t in provider.specialty_list],
        "distance_miles": provider.distance_miles,
        "rating": {
            "average": provider.rating_average,
            "count": provider.rating_count,
            "score": round(provider.rating_score, 3),
        },
        "accepting_new_patients": provider.accepting_new_patients,
        "synthetic": provider.is_synthetic,
        "url": url,
    }


def profile_urls(request, providers):
    """Each provider's absolute profile address: the URL pattern is reversed once for the page, not 20 times."""
    if not providers:
        return []
    sample = providers[0].npi
    head, tail = request.build_absolute_uri(reverse("provider_profile", args=[sample])).rsplit(sample, 1)
    return [f"{head}{p.npi}{tail}" for p in providers]


@api.get("/providers", response={200: ProviderPage, 400: Error}, summary="Search the provider directory")
def providers(request, params: Query[ProviderParams], response: HttpResponse):
    """Providers by specialty or condition, near a place, best first (or by distance or rating), 20 a page."""
    raw = {
        k: ("" if v is None else str(v).lower() if isinstance(v, bool) else str(v)) for k, v in params.dict().items()
    }
    try:
        query = parse_query(raw)
    except QueryError as exc:
        return error(request, exc.parameter, exc.message)
    result = search_providers(query)
    # Stored briefly: each process keeps its own copy of the specialties, which follows a change a moment later.
    mark_public(response, ("content", "directory"), settings.PAGE_CACHE_SEARCH_SECONDS)
    next_url = None
    if result.has_next:
        following = request.GET.copy()
        following["page"] = str(query.page + 1)
        next_url = request.build_absolute_uri(f"{request.path}?{following.urlencode()}")
    payload = {
        "count": result.count,
        "count_capped": result.count_capped,
        "next": next_url,
        "results": [
            provider_json(p, url)
            for p, url in zip(result.providers, profile_urls(request, result.providers), strict=True)
        ],
    }
    # Rendered without a second pass through the response schema (a fifth of the request's time at 20 providers);
    # the tests hold every answer to ProviderPage.
    return api.create_response(request, payload, temporal_response=response)  # with the headers mark_public set


api.add_router("/search", "carepath.api.search.router")
