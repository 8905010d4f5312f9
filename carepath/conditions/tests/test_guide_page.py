"""The guide page shows every element of the anatomy table (product.md), in reading order."""

import datetime
import json
import re

import pytest
from django.utils.html import escape

from carepath.conditions.models import ConditionPage, GlossaryTerm
from carepath.editorial.models import MedicalReviewer

pytestmark = pytest.mark.django_db


def render(client, url="/conditions/muscle-atrophy/"):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def json_ld(html):
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "no JSON-LD on the page"
    return json.loads(match.group(1))


def test_elements_appear_in_reading_order(client):
    html = render(client)
    landmarks = [
        'aria-label="Breadcrumb"',
        '<h1 id="guide-title">Muscle atrophy</h1>',
        "Also called:",
        "Not yet medically reviewed.",
        'class="summary"',
        'class="guide-section"',
        'class="callout callout-emergency"',
        'class="find-doctor"',
        '<details class="sources"',
        'id="related-heading">You might also like',
        'id="up-next-heading">Up next',
        'id="share-heading">Share this page by email',
        'class="site-footer"',
    ]
    positions = [html.find(marker) for marker in landmarks]
    missing = [m for m, p in zip(landmarks, positions, strict=True) if p < 0]
    assert not missing
    assert positions == sorted(positions)


def test_head_has_title_description_canonical_and_open_graph(client):
    html = render(client)
    assert "<title>Muscle atrophy | CarePath</title>" in html
    guide = ConditionPage.objects.get(slug="muscle-atrophy")
    assert f'<meta name="description" content="{escape(guide.summary)}">' in html
    assert '<link rel="canonical" href="http://testserver/conditions/muscle-atrophy/">' in html
    assert '<meta property="og:title" content="Muscle atrophy">' in html
    assert '<meta property="og:url" content="http://testserver/conditions/muscle-atrophy/">' in html


def test_structured_data_describes_the_condition_without_inventing_a_review(client):
    data = json_ld(render(client))
    assert data["@type"] == "MedicalWebPage"
    assert data["about"]["@type"] == "MedicalCondition"
    assert data["about"]["name"] == "Muscle atrophy"
    assert {"@type": "MedicalCode", "code": "M62.50", "codingSystem": "ICD-10-CM"} in data["about"]["code"]
    assert "lastReviewed" not in data and "reviewedBy" not in data
    assert len(data["citation"]) >= 2


def test_reviewed_page_shows_reviewer_dates_and_structured_review(client):
    guide = ConditionPage.objects.get(slug="gout")
    reviewer = MedicalReviewer.objects.create(name="Test Reviewer", credentials="MD")
    guide.reviewers.add(reviewer)
    guide.last_reviewed = datetime.date(2026, 3, 2)
    guide.next_review_due = datetime.date(2029, 3, 2)
    guide.save()
    html = render(client, "/conditions/gout/")
    assert f'Medically reviewed by <a href="/reviewers/{reviewer.slug}/">Test Reviewer, MD</a>' in html
    assert "March 2, 2026" in html and "Next review due" in html
    assert "Not yet medically reviewed" not in html
    assert "due for medical review" not in html
    data = json_ld(html)
    assert data["lastReviewed"] == "2026-03-02"
    assert data["reviewedBy"] == [
        {
            "@type": "Person",
            "name": "Test Reviewer",
            "honorificSuffix": "MD",
            "url": f"http://testserver/reviewers/{reviewer.slug}/",
        }
    ]


def test_overdue_review_is_shown_to_readers(client):
    guide = ConditionPage.objects.get(slug="gout")
    reviewer = MedicalReviewer.objects.create(name="Test Reviewer", credentials="DO")
    guide.reviewers.add(reviewer)
    guide.last_reviewed = datetime.date(2016, 10, 5)
    guide.next_review_due = datetime.date(2019, 10, 5)
    guide.save()
    html = render(client, "/conditions/gout/")
    assert "This page is due for medical review." in html
    assert json_ld(html)["lastReviewed"] == "2016-10-05"


def test_demo_pages_say_so(client):
    html = render(client)
    assert "Demo content." in html and "not yet been medically reviewed" in html


def test_emergency_callout_has_tap_to_call_911(client):
    html = render(client)
    callout = html[html.find('class="callout callout-emergency"') :]
    callout = callout[: callout.find("</aside>")]
    assert '<a class="call-911" href="tel:911">Call 911</a>' in callout


def test_glossary_definitions_are_inline_buttons_controlling_their_text(client):
    html = render(client)
    term = GlossaryTerm.objects.get(term__iexact="nerve")
    match = re.search(
        r'<button type="button" class="gloss-term" aria-expanded="false" aria-controls="(gloss-\d+)">'
        r"nerve</button>",
        html,
        re.I,
    )
    assert match, "the guide's first use of 'nerve' is not marked"
    definition = re.search(rf'<span class="gloss-def" id="{match.group(1)}">(.*?)</span>', html, re.S)
    assert definition and escape(term.definition) in definition.group(1)


def test_glossary_definition_links_to_the_terms_own_guide(client):
    term = GlossaryTerm.objects.get(term__iexact="nerve")
    term.guide = ConditionPage.objects.get(slug="peripheral-neuropathy")
    term.save()
    html = render(client)
    match = re.search(r'aria-controls="(gloss-\d+)">nerve</button>', html, re.I)
    assert match
    definition = re.search(rf'<span class="gloss-def" id="{match.group(1)}">(.*?)</span>', html, re.S).group(1)
    assert '<a href="/conditions/peripheral-neuropathy/">Read the guide on nerve</a>' in definition


def test_glossary_marks_only_the_first_use_and_never_inside_links(client):
    html = render(client)
    ids = re.findall(r'aria-controls="(gloss-\d+)"', html)
    assert len(ids) == len(set(ids))
    for link in re.findall(r"<a [^>]*>(.*?)</a>", html, re.S):
        assert "gloss-term" not in link


def test_the_page_does_not_define_its_own_title_inline(client):
    html = render(client)
    assert not re.search(r'class="gloss-term"[^>]*>muscle atrophy</button>', html, re.I)


def test_terms_in_a_key_term_box_are_not_defined_again_inline(client, guide):
    boxed = [b.value["term"].term for b in guide.body if b.block_type == "glossary_term"]
    assert "atrophy" in boxed
    html = render(client)
    assert "<dt>Atrophy</dt>" in html
    assert not re.search(r'class="gloss-term"[^>]*>atrophy</button>', html, re.I)


def test_find_a_doctor_box_submits_specialty_and_zip(client):
    html = render(client)
    box = html[html.find('class="find-doctor"') :]
    box = box[: box.find("</aside>")]
    assert 'action="/find-a-doctor/"' in box and 'method="get"' in box
    assert 'name="specialty"' in box and 'name="near"' in box
    assert 'value="207X00000X"' in box or 'value="208100000X"' in box
    assert "Find a top-rated" in box
    assert 'href="/find-a-doctor/?condition=muscle-atrophy&amp;sort=rating"' in box


def test_sources_are_numbered_behind_a_disclosure(client):
    html = render(client)
    sources = html[html.find('<details class="sources"') :]
    sources = sources[: sources.find("</details>")]
    assert "<summary>" in sources and "Sources" in sources
    assert "<ol" in sources and sources.count('<li id="ref-') >= 2
    assert "Accessed" in sources


def test_you_might_also_like_puts_editor_picks_first_then_related_pages(client, guide):
    related = guide.related_reading()
    assert len(related) >= 3
    picks = [link.page.specific for link in guide.related_links.all()]
    assert related[: len(picks)] == picks
    html = render(client)
    section = html[html.find('id="related-heading"') :]
    assert section.find(picks[0].url) < section.find(related[-1].url) or picks[0] == related[-1]


def test_automatic_related_reading_shares_specialties_or_codes(guide):
    guide.related_links.all().delete()
    guide.save()
    related = ConditionPage.objects.get(pk=guide.pk).related_reading()
    assert len(related) >= 3
    mine = set(guide.specialties.values_list("code", flat=True))
    categories = {code[:3] for code in guide.icd10_list}
    for page in related:
        if isinstance(page, ConditionPage):
            shares = mine & set(page.specialties.values_list("code", flat=True)) or categories & {
                c[:3] for c in page.icd10_list
            }
            assert shares, f"{page.slug} shares nothing with muscle atrophy"


def test_up_next_defaults_to_the_next_guide_a_to_z(guide):
    following = ConditionPage.objects.live().filter(title__gt=guide.title).order_by("title").first()
    assert guide.next_page() == following


def test_share_form_is_csrf_protected(client):
    html = render(client)
    form = html[html.find('id="share-heading"') :]
    assert 'action="/conditions/muscle-atrophy/share/"' in form
    assert 'name="csrfmiddlewaretoken"' in form


def test_image_has_alt_text_and_caption(client, guide):
    block = next(b for b in guide.body if b.block_type == "image")
    html = render(client)
    assert f'alt="{block.value["alt_text"]}"' in html
    assert "<figcaption>" in html


def test_a_to_z_index_lists_every_live_guide_by_letter(client):
    html = render(client, "/conditions/")
    for guide in ConditionPage.objects.live():
        assert f'href="{guide.url}"' in html
    assert '<h2 id="letter-M" tabindex="-1">M</h2>' in html
    assert html.find('href="/conditions/als/"') < html.find('href="/conditions/tendinitis/"')


def test_unpublished_guides_are_not_listed_or_served(client):
    guide = ConditionPage.objects.get(slug="gout")
    guide.unpublish()
    assert 'href="/conditions/gout/"' not in render(client, "/conditions/")
    assert client.get("/conditions/gout/").status_code == 404


def test_no_asset_comes_from_an_outside_host(client):
    html = render(client)
    assets = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assets = [a for a in assets if not a.startswith("http://testserver/")]  # canonical link
    assert assets and all(a.startswith("/") for a in assets), assets
