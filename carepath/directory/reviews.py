"""Patient reviews: written without an account, confirmed through an e-mailed link, published by a moderator.

A review counts only when published; the provider's aggregate changes in the same transaction as the
moderation decision. Negative reviews are never held back for being negative."""

import re
import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from carepath.core.ratelimits import seconds_limited, try_later
from carepath.directory.models import Provider, ProviderReview

CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value):
    """Reviews are plain text: control characters go, HTML is escaped when shown, never interpreted."""
    return CONTROL_RE.sub("", value).strip()


class ReviewForm(forms.Form):
    stars = forms.TypedChoiceField(
        label="Your rating",
        choices=[(n, f"{n} star{'s' if n > 1 else ''}") for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose from 1 to 5 stars."},
    )
    text = forms.CharField(label="Your review (optional)", required=False, max_length=2000, widget=forms.Textarea)
    display_name = forms.CharField(label="Name to show (optional)", required=False, max_length=60)
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="We send a link to confirm your review. We never show your address.",
    )
    attested_visit = forms.BooleanField(
        label="I was seen by this provider.",
        error_messages={"required": "Please confirm that you were seen by this provider."},
    )

    def clean_text(self):
        return clean_text(self.cleaned_data["text"])

    def clean_display_name(self):
        name = clean_text(self.cleaned_data["display_name"])
        if "\n" in name or "\r" in name:
            raise ValidationError("Line breaks are not allowed in a name.")
        return name


def review_limited(request, email):
    """Seconds to wait once this client IP or this e-mail address has used its reviews for the hour, else None."""
    rate = settings.REVIEW_RATE
    return seconds_limited(
        request, ("review-ip", "ip", rate), ("review-email", lambda group, request: email.lower(), rate)
    )


def _send_confirmation(request, review):
    link = request.build_absolute_uri(reverse("review_confirm", args=[review.token]))
    context = {"review": review, "provider": review.provider, "link": link, "site_name": settings.WAGTAIL_SITE_NAME}
    EmailMessage(
        subject=f"Confirm your review of {review.provider.display_name}",
        body=render_to_string("directory/email/confirm_review.txt", context),
        to=[review.email],
    ).send()


def submit_review(request, npi):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    provider = get_object_or_404(Provider, npi=npi, active=True)
    form = ReviewForm(request.POST)
    status = 400
    if form.is_valid():
        wait = review_limited(request, form.cleaned_data["email"])
        if wait is not None:
            message = "Too many reviews from here or from this address in the last hour, so we did not take this one."
            back = reverse("provider_profile", args=[provider.npi])
            return try_later(request, message, back, provider.display_name, wait)
        review = ProviderReview.objects.create(provider=provider, token=secrets.token_urlsafe(32), **form.cleaned_data)
        try:
            _send_confirmation(request, review)
        except OSError:
            review.delete()
            form.add_error(None, "We could not send the confirmation email just now. Please try again later.")
            status = 503
        else:
            return render(request, "directory/review_sent.html", {"provider": provider, "review": review})
    from carepath.directory.views import render_profile

    return render_profile(request, provider, review_form=form, status=status)


@transaction.atomic
def confirm_review(review):
    """The writer clicked the link: the review joins the moderation queue, replacing their earlier review of the
    same provider (one review per address per provider)."""
    earlier = (
        ProviderReview.objects.select_for_update()
        .filter(provider=review.provider, email__iexact=review.email)
        .exclude(pk=review.pk)
        .exclude(status=ProviderReview.UNCONFIRMED)
    )
    had_published = earlier.filter(status=ProviderReview.PUBLISHED).exists()
    earlier.delete()
    review.status = ProviderReview.PENDING
    review.confirmed_at = timezone.now()
    review.save(update_fields=["status", "confirmed_at"])
    if had_published:
        Provider.objects.select_for_update().get(pk=review.provider_id).recompute_rating()
    return review


@transaction.atomic
def approve_review(review):
    review = ProviderReview.objects.select_for_update().get(pk=review.pk)
    if review.status not in (ProviderReview.PENDING, ProviderReview.REJECTED):
        raise ValueError(f"a review that is {review.get_status_display().lower()} cannot be published")
    review.status, review.moderated_at, review.rejection_reason = ProviderReview.PUBLISHED, timezone.now(), ""
    review.save(update_fields=["status", "moderated_at", "rejection_reason"])
    Provider.objects.select_for_update().get(pk=review.provider_id).recompute_rating()
    return review


@transaction.atomic
def reject_review(review, reason):
    reason = clean_text(reason)
    if not reason:
        raise ValueError("a rejection needs a reason")
    review = ProviderReview.objects.select_for_update().get(pk=review.pk)
    was_published = review.status == ProviderReview.PUBLISHED
    review.status, review.moderated_at, review.rejection_reason = ProviderReview.REJECTED, timezone.now(), reason
    review.save(update_fields=["status", "moderated_at", "rejection_reason"])
    if was_published:
        Provider.objects.select_for_update().get(pk=review.provider_id).recompute_rating()
    return review


def confirm_review_view(request, token):
    """GET shows a button, POST confirms: mail scanners that open links must not confirm reviews."""
    review = get_object_or_404(ProviderReview.objects.select_related("provider"), token=token)
    if request.method == "POST" and review.status == ProviderReview.UNCONFIRMED:
        confirm_review(review)
        messages.success(request, "Thank you. Your review is confirmed and will appear once a moderator checks it.")
        return redirect("provider_profile", npi=review.provider_id)
    return render(request, "directory/review_confirm.html", {"review": review, "provider": review.provider})
