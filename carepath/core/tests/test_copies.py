"""Per-process copies of content data (core/copies.py): a page rendered from them is the page rendered afresh, and
every kind of change reaches the next render, on real Redis counters and on local-memory ones."""

import pickle

import pytest
from django.core.files.base import ContentFile
from django.utils.html import escape
from wagtail.models import Page, PageViewRestriction

from carepath.conditions.models import ConditionIndexPage, ConditionPage, GlossaryTerm
from carepath.core import copies
from carepath.core.pagecache import invalidate

pytestmark = pytest.mark.django_db
GUIDE = "/conditions/muscle-atrophy/"


def render(client, path=GUIDE):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def fresh(client, path=GUIDE):
    """The page with no copy to read from: everything from the database, as before copies existed."""
    copies.forget()
    return render(client, path)


def related_section(html):
    return html.split('id="related-heading"')[1].split("</section>")[0]


def publish(page):
    page.save_revision().publish()


def test_every_page_rendered_from_the_copies_is_the_page_rendered_afresh(client, backend):
    paths = [page.url for page in Page.objects.live().filter(depth__gt=2).order_by("path")]
    assert GUIDE in paths and len(paths) > 20
    for path in paths:
        first = render(client, path)  # builds what the page needs
        assert render(client, path) == first == fresh(client, path), path


def test_the_copies_serve_until_the_generation_moves(client, backend):
    """A change made in another process: its signal handler dropped that process's copies only; this process learns
    of it from the generation counter the other one bumps on commit."""
    html = render(client)
    term = next(t for t in GlossaryTerm.objects.all() if escape(t.definition) in html)
    GlossaryTerm.objects.filter(pk=term.pk).update(definition="Defined in another process.")  # no signal here
    assert "Defined in another process." not in render(client)  # this process still reads its copy
    invalidate("content")  # what the other process does once its change is committed
    assert "Defined in another process." in render(client)


def test_a_new_guide_is_up_next_on_the_next_render(client, backend, commits):
    assert 'href="/conditions/muscular-dystrophy/" class="up-next-link"' in render(client)
    generation = copies.read_generation()
    index = ConditionIndexPage.objects.get()
    with commits():
        cramps = ConditionPage(
            title="Muscle cramps",
            slug="muscle-cramps",
            summary="A cramp is a muscle that tightens suddenly and will not relax.",
            body=[{"type": "section", "value": {"heading": "What is a cramp?", "text": "<p>A tight muscle.</p>"}}],
        )
        index.add_child(instance=cramps)
        publish(cramps)
    assert copies.read_generation() != generation  # every other process rebuilds its copies too
    after = render(client)
    assert 'href="/conditions/muscle-cramps/" class="up-next-link"' in after
    assert after == fresh(client)


def test_an_unpublished_guide_leaves_related_reading_and_glossary_links(client, backend, commits):
    before = render(client)
    assert "/conditions/spinal-muscular-atrophy/" in related_section(before)
    assert "Read the guide on spinal muscular atrophy" in before
    with commits():
        ConditionPage.objects.get(slug="spinal-muscular-atrophy").unpublish()
    after = render(client)
    assert "/conditions/spinal-muscular-atrophy/" not in related_section(after)
    assert "Read the guide on spinal muscular atrophy" not in after
    assert after == fresh(client)


def test_glossary_edits_reach_inline_definitions_and_key_term_boxes(client, backend, commits, guide):
    html = render(client)
    boxed = [block.value["term"] for block in guide.body if block.block_type == "glossary_term"]
    inline = next(t for t in GlossaryTerm.objects.exclude(pk__in=[t.pk for t in boxed]) if escape(t.definition) in html)
    with commits():
        inline.definition = "Said plainly, inline."
        inline.save()
        boxed[0].definition = "Said plainly, in a box."
        boxed[0].save()
    after = render(client)
    assert '<span class="gloss-def"' in after and "Said plainly, inline." in after
    assert '<aside class="key-term"' in after and "Said plainly, in a box." in after
    assert after == fresh(client)


def test_glossary_marking_is_done_once_per_generation(client, backend, monkeypatch):
    from carepath.conditions.templatetags import carepath_tags

    calls = []
    mark_terms = carepath_tags._mark_terms
    monkeypatch.setattr(carepath_tags, "_mark_terms", lambda *args: calls.append(1) or mark_terms(*args))
    first = render(client)
    sections = len(calls)
    assert sections > 3 and 'class="gloss-term"' in first
    assert render(client) == first and len(calls) == sections  # the second render marks nothing again
    invalidate("content")
    assert render(client) == first and len(calls) == 2 * sections


def test_a_review_and_a_reviewer_change_reach_the_next_render(client, backend, commits, review_guide):
    render(client)
    with commits():
        reviewer = review_guide("copies-reviewer", "Copy Reviewer")
    assert "Medically reviewed by" in render(client) and "Copy Reviewer, MD" in render(client)
    with commits():
        reviewer.credentials = "MD, FACS"
        reviewer.save()
    after = render(client)
    assert "Copy Reviewer, MD, FACS" in after
    assert after == fresh(client)


def test_a_replaced_image_file_reaches_the_next_render(client, backend, commits, guide):
    html = render(client)
    image = next(block.value["image"] for block in guide.body if block.block_type == "image")
    old_url = image.get_rendition("width-800").url
    assert old_url in html
    with image.file.open() as original:
        data = original.read()
    size = image.width, image.height
    with commits():
        image.renditions.all().delete()
        image.file.save("replaced-figure.png", ContentFile(data), save=False)
        image.width, image.height = size
        image.save()
    after = render(client)
    assert old_url not in after and "replaced-figure" in after
    assert after == fresh(client)


def test_a_new_view_restriction_applies_on_the_next_request(client, backend, commits, guide):
    render(client)
    with commits():
        PageViewRestriction.objects.create(page=guide, restriction_type=PageViewRestriction.LOGIN)
    response = client.get(GUIDE)
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_changed_address_routes_on_the_next_request(client, backend, commits, guide):
    render(client)
    with commits():
        guide.slug = "muscle-wasting"
        publish(guide)
    moved = client.get(GUIDE)  # not the page at its old address: Wagtail's redirect to the new one
    assert moved.status_code == 301 and moved["Location"] == "/conditions/muscle-wasting/"
    assert "Muscle atrophy" in render(client, "/conditions/muscle-wasting/")


def test_nothing_personal_is_copied(client, backend, django_user_model):
    editor = django_user_model.objects.create_superuser("copies-editor", "copies-editor@example.org", "pw-unused-1")
    client.force_login(editor)
    session_key = client.session.session_key
    token = client.get("/csrf-token").json()["token"]
    client.get(GUIDE)
    client.post(GUIDE + "share/", {"csrfmiddlewaretoken": token, "recipient": "not an address"})
    client.logout()
    kept = pickle.dumps(list(copies._copies.values()))
    assert b"Muscle atrophy" in kept  # the editor's requests built copies
    for personal in ("copies-editor", "copies-editor@example.org", token, session_key):
        assert personal and personal.encode() not in kept
    assert render(client) == fresh(client)
