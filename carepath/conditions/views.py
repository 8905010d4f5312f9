"""Share a guide by email: one recipient, a fixed message, rate-limited, CSRF-protected."""

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMessage
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.loader import render_to_string

from carepath.core.ratelimits import seconds_limited, try_later

logger = logging.getLogger(__name__)

NOTE_MAX = 500


def _no_line_breaks(value):
    if "\r" in value or "\n" in value:
        raise ValidationError("Line breaks are not allowed here. Write the note on one line.")


class ShareForm(forms.Form):
    recipient = forms.EmailField(
        label="Their email address",
        max_length=254,
        error_messages={"invalid": "Enter one email address, such as name@example.com."},
        validators=[_no_line_breaks],
    )
    note = forms.CharField(
        label="Add a short note (optional)",
        required=False,
        max_length=NOTE_MAX,
        strip=True,
        validators=[_no_line_breaks],
        error_messages={"max_length": f"Keep the note to {NOTE_MAX} characters or fewer."},
    )

    def clean_recipient(self):
        # EmailField already refuses "a@x.org, b@y.org"; this catches what slips past it, such as "a@x.org b@y.org".
        value = self.cleaned_data["recipient"]
        if any(sep in value for sep in (",", ";", " ")) or value.count("@") != 1:
            raise ValidationError("You can share with one email address at a time.")
        return value

    def clean(self):
        # Raw POST values are checked too: a line break must be refused even where a field would strip it.
        for name in ("recipient", "note"):
            raw = self.data.get(name, "")
            if "\r" in raw or "\n" in raw:
                self.add_error(name, "Line breaks are not allowed here.")
        return super().clean()


def _session_key(group, request):
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key


def share_limited(request):
    """Seconds to wait once this client IP or this browser session has used its shares for the hour, else None."""
    return seconds_limited(
        request,
        ("share-ip", "ip", settings.SHARE_RATE),
        ("share-session", _session_key, settings.SHARE_RATE),
    )


def build_share_message(page, request, recipient, note):
    url = request.build_absolute_uri(page.url)
    context = {"page": page, "url": url, "note": note, "site_name": settings.WAGTAIL_SITE_NAME}
    subject = " ".join(render_to_string("conditions/email/share_subject.txt", context).split())
    body = render_to_string("conditions/email/share_body.txt", context)
    return EmailMessage(subject=subject, body=body, to=[recipient])


def share_page(request, page):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = ShareForm(request.POST)
    if not form.is_valid():
        return _refuse(request, page, form, 400)
    wait = share_limited(request)
    if wait is not None:
        message = "You have shared several pages in the last hour, so we did not send this one."
        return try_later(request, message, page.url, page.title, wait)
    message = build_share_message(page, request, form.cleaned_data["recipient"], form.cleaned_data["note"])
    try:
        message.send()
    except BadHeaderError:
        form.add_error(None, "That message could not be sent. Remove any line breaks and try again.")
        return _refuse(request, page, form, 400)
    except OSError:
        logger.exception("share email for page %s could not be sent", page.pk)
        form.add_error(None, "We could not send the email just now. Please try again in a few minutes.")
        return _refuse(request, page, form, 503)
    messages.success(request, "Sent. We emailed a link to this page.")
    return redirect(page.url + "#share")


def _refuse(request, page, form, status):
    response = page.render(request, context_overrides={"share_form": form, "share_refused": True})
    response.status_code = status
    return response
