"""US ZIP code centroids from the `zipcodes` package, indexed once per process (about 42,000 ZIPs, a few MB)."""

import functools
import re
from dataclasses import dataclass

ZIP_RE = re.compile(r"^\d{5}$")
CITY_STATE_RE = re.compile(r"^\s*([A-Za-z][A-Za-z .'-]*?)\s*,\s*([A-Za-z]{2})\s*$")


@dataclass(frozen=True)
class Place:
    label: str
    latitude: float
    longitude: float
    zip5: str = ""


@functools.cache
def _index():
    import zipcodes

    by_zip, by_city = {}, {}
    # A hundred slices rather than zipcodes.list_all(), which keeps all 42,000 ZIPs as dicts of a dozen fields for
    # the life of the process (about 140 MB more resident memory in every worker and import).
    found = (z for prefix in range(100) for z in zipcodes.similar_to(f"{prefix:02d}"))
    for z in found:
        if not z.get("lat") or not z.get("long"):
            continue
        lat, lng = float(z["lat"]), float(z["long"])
        by_zip[z["zip_code"]] = (z["city"], z["state"], lat, lng)
        by_city.setdefault((z["city"].upper(), z["state"].upper()), []).append((lat, lng))
    return by_zip, by_city


def zip_centroid(zip5):
    """(latitude, longitude) of a US ZIP code, or None."""
    found = _index()[0].get(zip5)
    return (found[2], found[3]) if found else None


def zip_centroids():
    """{ZIP: (latitude, longitude)} for every ZIP code with a centroid."""
    return {code: (lat, lng) for code, (_, _, lat, lng) in _index()[0].items()}


def find_place(text):
    """A 5-digit ZIP or "City, ST" -> Place, or None when it is neither known nor well-formed."""
    text = (text or "").strip()
    by_zip, by_city = _index()
    if ZIP_RE.match(text):
        found = by_zip.get(text)
        if not found:
            return None
        city, state, lat, lng = found
        return Place(f"{city.title()}, {state} {text}", lat, lng, text)
    m = CITY_STATE_RE.match(text)
    if m:
        points = by_city.get((m.group(1).upper(), m.group(2).upper()))
        if points:
            lat = sum(p[0] for p in points) / len(points)
            lng = sum(p[1] for p in points) / len(points)
            return Place(f"{m.group(1).title()}, {m.group(2).upper()}", lat, lng)
    return None


def looks_like_place(text):
    text = (text or "").strip()
    return bool(ZIP_RE.match(text) or CITY_STATE_RE.match(text))
