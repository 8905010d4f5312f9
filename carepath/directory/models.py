"""The provider directory: NUCC specialties, providers from the NPPES registry, where they practise, and
their patients' verified, moderated reviews."""

import math

from django.core.exceptions import ValidationError
from django.db import models

# Rating order uses a Bayesian average: every provider starts with PRIOR_WEIGHT imaginary reviews at PRIOR_MEAN
# stars, so one 5-star review cannot outrank two hundred reviews at 4.8.
PRIOR_MEAN = 3.5
PRIOR_WEIGHT = 5


# A digit -> the digit sum of twice it, as Luhn adds a doubled digit.
LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def npi_check_digit_ok(npi):
    """NPI check digit: Luhn over the 10 digits with the card-issuer prefix 80840 (CMS, NPI standard)."""
    if not (isinstance(npi, str) and len(npi) == 10 and npi.isascii() and npi.isdigit()):
        return False
    # From the right, every second digit is doubled; the prefix's digits add 24. Summing a digit string's bytes
    # counts 48 (b"0") for each of its 10 digits. (An import checks millions of NPIs: no loop in Python here.)
    total = 24 + sum(npi[-1::-2].encode()) + sum(npi[-2::-2].translate(LUHN_DOUBLED).encode()) - 480
    return total % 10 == 0


def npi_with_check_digit(first_nine):
    """Append the check digit to a 9-digit NPI stem."""
    for digit in "0123456789":
        if npi_check_digit_ok(first_nine + digit):
            return first_nine + digit
    raise ValueError(first_nine)


def validate_npi(value):
    if not npi_check_digit_ok(value):
        raise ValidationError(
            "%(npi)s is not a valid NPI (10 digits with a correct check digit).", params={"npi": value}
        )


def bayesian_average(rating_sum, rating_count):
    return (PRIOR_MEAN * PRIOR_WEIGHT + rating_sum) / (PRIOR_WEIGHT + rating_count)


class TaxonomyQuerySet(models.QuerySet):
    def codes(self):
        return set(self.values_list("code", flat=True))


class Taxonomy(models.Model):
    """A NUCC Health Care Provider Taxonomy code: Grouping > Classification > Specialization."""

    code = models.CharField(max_length=10, primary_key=True)
    grouping = models.CharField(max_length=200)
    classification = models.CharField(max_length=200)
    specialization = models.CharField(max_length=200, blank=True)
    display_name = models.CharField(max_length=300, blank=True)

    objects = TaxonomyQuerySet.as_manager()

    class Meta:
        ordering = ["classification", "specialization"]
        verbose_name_plural = "taxonomy codes"

    def __str__(self):
        return self.label

    @property
    def label(self):
        """Reader-facing name: NUCC's display name, else 'Classification: Specialization'."""
        if self.display_name:
            return self.display_name
        return f"{self.classification}: {self.specialization}" if self.specialization else self.classification

    @property
    def short_name(self):
        """The specialty as a reader says it ("Rheumatology", "Orthopaedic Surgery")."""
        return self.specialization or self.classification


class Provider(models.Model):
    INDIVIDUAL, ORGANIZATION = 1, 2

    npi = models.CharField("NPI", max_length=10, primary_key=True, validators=[validate_npi])
    entity_type = models.PositiveSmallIntegerField(choices=[(INDIVIDUAL, "Individual"), (ORGANIZATION, "Organization")])
    organization_name = models.CharField(max_length=300, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    middle_name = models.CharField(max_length=100, blank=True)
    name_prefix = models.CharField(max_length=20, blank=True)
    name_suffix = models.CharField(max_length=20, blank=True)
    credential = models.CharField(max_length=100, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    enumeration_date = models.DateField(null=True, blank=True)
    last_updated = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    accepting_new_patients = models.BooleanField(null=True, blank=True)
    languages = models.CharField(max_length=200, blank=True, help_text="Comma-separated, where known")
    is_synthetic = models.BooleanField(default=False, help_text="Demo data, not a real provider")
    # Aggregates of published reviews; changed in the same transaction as each moderation decision.
    rating_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    rating_score = models.FloatField(default=PRIOR_MEAN, help_text="Bayesian average, for ordering")

    class Meta:
        indexes = [models.Index(fields=["active", "-rating_score"])]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        if self.entity_type == self.ORGANIZATION:
            return self.organization_name
        parts = [self.first_name, self.middle_name[:1] + "." if self.middle_name else "", self.last_name]
        return " ".join(p for p in parts if p).title() if self.last_name.isupper() else " ".join(p for p in parts if p)

    @property
    def rating_average(self):
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else None

    def recompute_rating(self):
        """Recount from published reviews (call inside the moderation transaction)."""
        stats = self.reviews.filter(status=ProviderReview.PUBLISHED).aggregate(
            n=models.Count("id"), total=models.Sum("stars")
        )
        self.rating_count = stats["n"] or 0
        self.rating_sum = stats["total"] or 0
        self.rating_score = bayesian_average(self.rating_sum, self.rating_count)
        self.save(update_fields=["rating_count", "rating_sum", "rating_score"])
        ProviderSearchEntry.objects.filter(provider=self).update(rating_score=self.rating_score)


class ProviderSpecialty(models.Model):
    # No index of their own: the unique (provider, taxonomy) constraint and the (taxonomy, provider) index lead with
    # them (and a varchar key's index brings a LIKE twin on PostgreSQL): fewer indexes to write on every import.
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="specialties", db_index=False)
    taxonomy = models.ForeignKey(
        Taxonomy, on_delete=models.PROTECT, related_name="provider_specialties", db_index=False
    )
    is_primary = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "taxonomy"], name="unique_provider_taxonomy")]
        indexes = [models.Index(fields=["taxonomy", "provider"])]

    def __str__(self):
        return f"{self.provider_id} {self.taxonomy_id}{' (primary)' if self.is_primary else ''}"


class PracticeLocation(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="locations", db_index=False)
    is_primary = models.BooleanField(default=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=2)
    zip5 = models.CharField("ZIP code", max_length=5)
    phone = models.CharField(max_length=20, blank=True)
    # The ZIP code's centroid (zipcodes package): good to a few miles, enough to sort by distance.
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)

    class Meta:
        # No index on the coordinates: the search reads ProviderSearchEntry, never this table by place.
        indexes = [models.Index(fields=["provider"], name="location_provider")]  # without the LIKE twin of db_index

    def __str__(self):
        return f"{self.city}, {self.state} {self.zip5}"


EARTH_RADIUS_MILES = 3958.8


def unit_vector(latitude, longitude):
    """A point on the unit sphere: the squared chord between two of them orders like their distance."""
    lat, lng = math.radians(latitude), math.radians(longitude)
    return math.cos(lat) * math.cos(lng), math.cos(lat) * math.sin(lng), math.sin(lat)


def chord2_for_miles(miles):
    return (2 * math.sin(miles / (2 * EARTH_RADIUS_MILES))) ** 2


def miles_for_chord2(chord2):
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(max(chord2, 0.0)) / 2))


CELLS_PER_DEGREE = 2  # the search grid: cells of half a degree (about 35 by 25 miles in the lower 48)


def grid_cell(latitude, longitude):
    """The search-grid cell of a point, as one integer (what search_index writes in SQL, in Python)."""
    return math.floor(latitude * CELLS_PER_DEGREE) * 1000 + math.floor(longitude * CELLS_PER_DEGREE)


def cells_around(latitude, longitude, dlat, dlng):
    """Every grid cell that the box latitude +- dlat, longitude +- dlng touches."""
    rows = range(math.floor((latitude - dlat) * CELLS_PER_DEGREE), math.floor((latitude + dlat) * CELLS_PER_DEGREE) + 1)
    columns = range(
        math.floor((longitude - dlng) * CELLS_PER_DEGREE), math.floor((longitude + dlng) * CELLS_PER_DEGREE) + 1
    )
    return [row * 1000 + column for row in rows for column in columns]


class ProviderSearchEntry(models.Model):
    """One row per active provider, specialty and located practice: the search reads only this table, through
    one covering index, so "specialty near a place" is an index range scan at national scale. Derived from
    Provider, ProviderSpecialty and PracticeLocation by `search_index.refresh()`; never edited by hand."""

    # Indexed by the Meta indexes below only (search_entry_code_cell leads with taxonomy, search_entry_provider).
    taxonomy = models.ForeignKey(
        Taxonomy, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    latitude = models.FloatField()
    longitude = models.FloatField()
    cell = models.IntegerField(help_text="grid_cell(latitude, longitude)")
    x = models.FloatField()
    y = models.FloatField()
    z = models.FloatField()
    rating_score = models.FloatField()
    is_primary = models.BooleanField()

    class Meta:
        indexes = [
            # A specialty near a place: one seek per (code, cell) the circle touches; the rest of the row is in the
            # index, so the distance test and the ranking never read the table. Within a (code, cell) the entries
            # come best-rated first, so in a dense area the page is read from the start of a few short walks
            # (search._walk) instead of sorting every match.
            models.Index(
                fields=["taxonomy", "cell", "-rating_score", "x", "y", "z", "provider", "is_primary"],
                name="search_entry_code_cell",
            ),
            # Near a place without a specialty.
            models.Index(
                fields=["cell", "x", "y", "z", "rating_score", "provider", "is_primary"],
                name="search_entry_place_cell",
            ),
            models.Index(fields=["provider"], name="search_entry_provider"),
        ]

    def __str__(self):
        return f"{self.provider_id} {self.taxonomy_id} ({self.latitude:.3f}, {self.longitude:.3f})"


def distance_miles(lat1, lon1, lat2, lon2):
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(a))


class ProviderReview(models.Model):
    """A patient's rating (1-5 stars) and optional text. It counts only once its writer confirms it by e-mail
    and a moderator publishes it."""

    UNCONFIRMED, PENDING, PUBLISHED, REJECTED = "unconfirmed", "pending", "published", "rejected"
    STATUSES = [
        (UNCONFIRMED, "Waiting for e-mail confirmation"),
        (PENDING, "Waiting for moderation"),
        (PUBLISHED, "Published"),
        (REJECTED, "Rejected"),
    ]

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="reviews")
    email = models.EmailField(help_text="Never shown; one review per address per provider")
    display_name = models.CharField(max_length=60, blank=True, help_text="Shown with the review; optional")
    stars = models.PositiveSmallIntegerField(choices=[(n, f"{n} stars") for n in range(1, 6)])
    text = models.TextField(max_length=2000, blank=True)
    attested_visit = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=STATUSES, default=UNCONFIRMED, db_index=True)
    rejection_reason = models.CharField(max_length=300, blank=True)
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    is_synthetic = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["provider", "status"])]

    def __str__(self):
        return f"{self.stars}★ for {self.provider_id} ({self.status})"
