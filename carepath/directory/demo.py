"""A synthetic demo directory for `make run`: a few hundred providers around real ZIP codes, with ratings.

Everything here is labelled synthetic on its pages and in the API: the names say "Demo", the NPIs come from a
block (199990000x) and the reviews carry no text a patient wrote."""

import csv
import random

from django.db import transaction

from carepath.directory import geo, search_index
from carepath.directory.models import (
    PracticeLocation,
    Provider,
    ProviderReview,
    ProviderSpecialty,
    bayesian_average,
    npi_with_check_digit,
)

CENTRES = ["10001", "60601", "94103", "20892", "77030", "98101", "02115", "30303"]
CREDENTIALS = {"225100000X": "PT", "225X00000X": "OT", "133V00000X": "RD"}
NPI_STEM = "19999"  # demo NPIs: 19999xxxx + check digit


def _nearby_zips(centre, miles=15, limit=12):
    lat, lng = geo.zip_centroid(centre)
    from carepath.directory.models import distance_miles

    by_zip = geo._index()[0]
    near = sorted((distance_miles(lat, lng, v[2], v[3]), z) for z, v in by_zip.items() if abs(v[2] - lat) < 0.3)
    return [z for d, z in near if d <= miles][:limit]


@transaction.atomic
def load_demo_directory(per_centre=40, seed=2026):
    """Create the synthetic directory unless one exists. Returns how many providers were created."""
    if Provider.objects.filter(is_synthetic=True).exists():
        return 0
    from carepath.conditions.demo.library import SPECIALTIES_CSV

    with SPECIALTIES_CSV.open(encoding="utf-8-sig", newline="") as f:
        codes = [row["Code"] for row in csv.DictReader(f)]
    rng = random.Random(seed)
    providers, specialties, locations, reviews = [], [], [], []
    n = 0
    for centre in CENTRES:
        zips = _nearby_zips(centre)
        for _ in range(per_centre):
            n += 1
            npi = npi_with_check_digit(f"{NPI_STEM}{n:04d}")
            code = codes[n % len(codes)]
            count = rng.choice([0, 0, 1, 2, 3, 5, 8, 12, 20, 35, 60, 120, 200])
            mean = rng.uniform(3.0, 4.9)
            stars = [max(1, min(5, round(rng.gauss(mean, 0.9)))) for _ in range(count)]
            provider = Provider(
                npi=npi,
                entity_type=Provider.INDIVIDUAL,
                first_name="Demo",
                last_name=f"Provider {n:03d}",
                credential=CREDENTIALS.get(code, rng.choice(["MD", "DO"])),
                is_synthetic=True,
                active=True,
                accepting_new_patients=rng.random() < 0.7,
                languages=rng.choice(["English", "English, Spanish"]),
                rating_count=count,
                rating_sum=sum(stars),
                rating_score=bayesian_average(sum(stars), count),
            )
            providers.append(provider)
            specialties.append(ProviderSpecialty(provider=provider, taxonomy_id=code, is_primary=True))
            zip5 = rng.choice(zips)
            lat, lng = geo.zip_centroid(zip5)
            city, state = geo._index()[0][zip5][:2]
            locations.append(
                PracticeLocation(
                    provider=provider,
                    city=city.upper(),
                    state=state,
                    zip5=zip5,
                    latitude=lat,
                    longitude=lng,
                    address_line1=f"{100 + n} Demo Street",
                    phone=f"555-01{n % 100:02d}",
                )
            )
            reviews += [
                ProviderReview(
                    provider=provider,
                    email=f"synthetic-{n}-{i}@demo.invalid",
                    stars=s,
                    attested_visit=True,
                    status=ProviderReview.PUBLISHED,
                    token=f"demo-{npi}-{i}",
                    is_synthetic=True,
                    text="Synthetic demo review: no patient wrote this.",
                )
                for i, s in enumerate(stars)
            ]
    Provider.objects.bulk_create(providers)
    ProviderSpecialty.objects.bulk_create(specialties)
    PracticeLocation.objects.bulk_create(locations)
    ProviderReview.objects.bulk_create(reviews, batch_size=1000)
    from django.utils import timezone

    ProviderReview.objects.filter(is_synthetic=True, moderated_at__isnull=True).update(moderated_at=timezone.now())
    search_index.refresh([p.npi for p in providers])
    return len(providers)
