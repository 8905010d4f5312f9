"""Small helpers that build directory rows for tests (no fixture files)."""

import itertools

from carepath.directory import geo, search_index
from carepath.directory.models import (
    PracticeLocation,
    Provider,
    ProviderReview,
    ProviderSpecialty,
    bayesian_average,
    npi_with_check_digit,
)

_numbers = itertools.count(1)


def make_provider(code="207X00000X", zip5="10001", last_name=None, ratings=(), accepting=True, primary=True, **kw):
    n = next(_numbers)
    npi = npi_with_check_digit(f"1888{n:05d}")
    stars = list(ratings)
    provider = Provider.objects.create(
        npi=npi,
        entity_type=Provider.INDIVIDUAL,
        first_name="Test",
        last_name=last_name or f"Provider {n}",
        credential="MD",
        accepting_new_patients=accepting,
        rating_count=len(stars),
        rating_sum=sum(stars),
        rating_score=bayesian_average(sum(stars), len(stars)),
        **kw,
    )
    ProviderSpecialty.objects.create(provider=provider, taxonomy_id=code, is_primary=primary)
    lat, lng = geo.zip_centroid(zip5)
    PracticeLocation.objects.create(
        provider=provider, city="TEST CITY", state="NY", zip5=zip5, latitude=lat, longitude=lng, phone="212-555-0100"
    )
    for i, s in enumerate(stars):
        ProviderReview.objects.create(
            provider=provider,
            email=f"r{i}@example.org",
            stars=s,
            token=f"t-{npi}-{i}",
            status=ProviderReview.PUBLISHED,
            attested_visit=True,
        )
    search_index.refresh([provider.npi])
    return provider
