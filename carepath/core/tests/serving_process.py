"""One CarePath app server for the page cache tests that need several: run as `python -m
carepath.core.tests.serving_process` with the environment `make serve` would have, and driven over stdin and stdout,
one JSON object a line each way. It answers requests through the WSGI application exactly as carepath.wsgi builds it
(the page cache in front of Django), and makes the changes an editor or a moderator makes, through the same models,
signals and actions as the admin."""

import json
import secrets
import sys
import traceback


def main():
    replies = sys.stdout
    sys.stdout = sys.stderr  # whatever else is printed (the console e-mail backend) stays out of the replies

    from carepath.testing import WSGIClient
    from carepath.wsgi import application

    client = WSGIClient(application)
    for line in sys.stdin:
        command = json.loads(line)
        try:
            reply = ACTIONS[command.pop("action")](client, **command)
        except Exception:
            reply = {"error": traceback.format_exc()}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def get(client, path, query=""):
    return _reply(client.get(path, query, HTTP_X_FORWARDED_PROTO="https"))


def share(client, path, recipient):
    """What a reader's browser does on a guide: fetch a token (site.js), then send the share form with it."""
    token = json.loads(client.get("/csrf-token").text)["token"]
    data = {"csrfmiddlewaretoken": token, "recipient": recipient, "note": ""}
    return _reply(client.post(path + "share/", data))


def publish(client, slug, title):
    from carepath.conditions.models import ConditionPage

    page = ConditionPage.objects.get(slug=slug)
    page.title = title
    page.save_revision().publish()
    return {"done": True}


def unpublish(client, slug):
    from carepath.conditions.models import ConditionPage

    ConditionPage.objects.get(slug=slug).unpublish()
    return {"done": True}


def write_review(client, npi, text):
    """A pending review, as the reader's confirmed submission leaves it, then a moderator's approval."""
    from carepath.directory.models import Provider, ProviderReview
    from carepath.directory.reviews import approve_review

    review = ProviderReview.objects.create(
        provider=Provider.objects.get(npi=npi),
        stars=2,
        text=text,
        email="moderated@example.org",
        status=ProviderReview.PENDING,
        token=secrets.token_urlsafe(16),
    )
    approve_review(review)
    return {"review": review.pk}


def reject_review(client, review, reason):
    from carepath.directory.models import ProviderReview
    from carepath.directory.reviews import reject_review

    reject_review(ProviderReview.objects.get(pk=review), reason)
    return {"done": True}


def _reply(response):
    return {
        "status": response.status_code,
        "cache": response.header("X-Page-Cache"),
        "cookies": response.cookies(),
        "text": response.text,
    }


ACTIONS = {f.__name__: f for f in (get, share, publish, unpublish, write_review, reject_review)}

if __name__ == "__main__":
    main()
