"""Rate limits on what sends e-mail or takes reviews, and the small page a refused request gets.

A refusal does not re-render the guide or the profile it came from: a page that says when to come back, with a
link back, costs a fraction of that, and refusals are what a flood of submissions mostly gets.
"""

from django.shortcuts import render
from django_ratelimit.core import get_usage


def seconds_limited(request, *limits):
    """Count this request against each (group, key, rate); the seconds until every exhausted one lets requests
    through again, or None when none is exhausted."""
    waits = []
    for group, key, rate in limits:
        usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
        if usage and usage["should_limit"]:
            waits.append(usage["time_left"])
    return max(waits) if waits else None


def try_later(request, message, back_url, back_title, seconds):
    """429 with Retry-After and a short page: what happened, when to come back, the way back."""
    minutes = max(1, -(-int(seconds) // 60))
    response = render(
        request,
        "core/try_later.html",
        {"message": message, "minutes": minutes, "back_url": back_url, "back_title": back_title},
        status=429,
    )
    response["Retry-After"] = str(max(1, int(seconds)))
    response["Cache-Control"] = "private, no-store"
    return response
