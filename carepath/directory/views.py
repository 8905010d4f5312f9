import re

import zipcodes
from django.shortcuts import render

from carepath.directory.models import Taxonomy

ZIP_RE = re.compile(r"^\d{5}$")


def resolve_specialty(value):
    """A NUCC code or a specialty name -> Taxonomy, or None."""
    value = value.strip()
    if not value:
        return None
    match = Taxonomy.objects.filter(code=value.upper()).first()
    if match:
        return match
    return (
        Taxonomy.objects.filter(specialization__iexact=value).first()
        or Taxonomy.objects.filter(classification__iexact=value, specialization="").first()
        or Taxonomy.objects.filter(display_name__iexact=value).first()
    )


def find_a_doctor(request):
    """The search form; the provider directory itself arrives with the NPPES importer."""
    errors = {}
    specialty_text = request.GET.get("specialty", "")[:100]
    near = request.GET.get("near", "").strip()[:100]
    specialty = resolve_specialty(specialty_text)
    if specialty_text and not specialty:
        errors["specialty"] = f"We don't know the specialty “{specialty_text}”. Pick one from the list."
    place = None
    if near:
        if not ZIP_RE.match(near):
            errors["near"] = "Enter a 5-digit US ZIP code, such as 20892."
        else:
            found = zipcodes.matching(near)
            if found:
                place = found[0]
            else:
                errors["near"] = f"{near} is not a US ZIP code we know. Check the number and try again."
    status = 400 if errors else 200
    context = {
        "specialties": Taxonomy.objects.filter(condition_pages__live=True).distinct().order_by("classification"),
        "specialty": specialty,
        "specialty_text": specialty_text,
        "near": near,
        "place": place,
        "errors": errors,
    }
    return render(request, "directory/find_a_doctor.html", context, status=status)
