"""Each content check on a page crafted to fail it, `check_content` over the demo library, and the review report."""

import datetime
import io

import pytest
from django.core.management import call_command
from wagtail.images import get_image_model
from wagtail.rich_text import RichText

from carepath.conditions.models import ConditionPage, ConditionReference, GlossaryTerm
from carepath.editorial import checks
from carepath.editorial.oversight import CSV_HEADINGS

pytestmark = pytest.mark.django_db


def guide(slug="gout"):
    return ConditionPage.objects.get(slug=slug)


def section(html):
    return ("section", {"heading": "What is it?", "text": RichText(html)})


def messages_of(findings, level=None):
    return [f"{f.where}: {f.message}" for f in findings if level is None or f.level == level]


def test_an_icd10_code_that_does_not_exist_is_an_error():
    page = guide()
    page.icd10_codes = "M10.9, Z99.999"
    [finding] = checks.check_codes(page)
    assert finding.level == checks.ERROR and "'Z99.999' is not an ICD-10-CM code" in finding.message
    assert "Gout" in finding.where and "ICD-10-CM codes" in finding.where


def test_a_guide_without_references_is_an_error():
    page = guide()
    page.references = []
    [finding] = checks.check_references(page)
    assert finding.level == checks.ERROR and "add at least one public source" in finding.message


def test_a_malformed_reference_url_is_an_error():
    page = guide()
    page.references = [
        ConditionReference(title="Gout", publisher="NIAMS", url="htps//niams.nih.gov", accessed=datetime.date.today())
    ]
    [finding] = checks.check_references(page)
    assert finding.level == checks.ERROR and "'htps//niams.nih.gov' is malformed" in finding.message
    assert "reference 1 (Gout)" in finding.where


def test_an_internal_link_to_a_missing_or_unpublished_page_is_an_error():
    page = guide()
    draft = guide("lupus")
    draft.unpublish()
    page.body = [
        section(
            f'<p>See <a linktype="page" id="99999999">this</a> and <a linktype="page" id="{draft.pk}">lupus</a>.</p>'
        ),
        section('<p>Also <a href="/conditions/no-such-guide/">this</a>.</p>'),
    ]
    found = messages_of(checks.check_links(page), checks.ERROR)
    assert any("no longer exists (page id 99999999)" in m for m in found)
    assert any("'Lupus', which is not published" in m for m in found)
    assert any("/conditions/no-such-guide/, which is not a published page" in m for m in found)
    assert all("body block" in m for m in found)


def test_an_image_without_alt_text_is_an_error():
    page = guide()
    image = get_image_model().objects.first()
    page.body = [("image", {"image": image, "alt_text": "", "caption": ""})]
    [finding] = checks.check_images(page)
    assert finding.level == checks.ERROR and "body block 1 (image)" in finding.where
    assert "alt text" in finding.message


def test_a_reading_grade_above_8_is_a_warning_with_the_grade():
    page = guide()
    page.body = [
        section(
            "<p>Hyperuricemia-associated inflammatory arthropathy characteristically manifests through "
            "intermittent paroxysmal episodes of excruciating monoarticular synovitis, predominantly affecting "
            "the first metatarsophalangeal articulation, subsequently necessitating pharmacological intervention "
            "with anti-inflammatory medications and urate-lowering therapeutic regimens.</p>"
        )
    ]
    page.summary = "Hyperuricemia-associated inflammatory arthropathy necessitates comprehensive pharmacotherapy."
    [finding] = checks.check_grade(page)
    assert (
        finding.level == checks.WARNING
        and "reads at grade" in finding.message
        and "above the goal of 8" in (finding.message)
    )


def test_emergency_codes_without_an_emergency_callout_are_a_warning():
    page = guide("stroke")
    assert list(checks.check_emergency_callout(page)) == []
    page.body = [(block.block_type, block.value) for block in page.body if block.block_type != "care_callout"]
    [finding] = checks.check_emergency_callout(page)
    assert (
        finding.level == checks.WARNING and "stroke" in finding.message and "Emergency: call 911" in (finding.message)
    )


def test_a_glossary_definition_of_osteoarthritis_as_bone_thinning_matches_osteoporosis():
    term = GlossaryTerm.objects.get(term="osteoarthritis")
    assert list(checks.check_glossary_term(term)) == []
    term.definition = "Thinning and weakening of the bones."
    [finding] = checks.check_glossary_term(term)
    assert finding.level == checks.WARNING
    assert "'osteoporosis'" in finding.message and "'osteoarthritis'" in finding.message


def test_check_content_passes_on_the_demo_library():
    out = io.StringIO()
    call_command("check_content", stdout=out)
    text = out.getvalue()
    assert text.strip().endswith("0 errors, 0 warnings"), text


def test_check_content_exits_1_on_an_error():
    # As an import that wrote the row directly would leave it: the admin form refuses such a code.
    ConditionPage.objects.filter(slug="gout").update(icd10_codes="Z99.999")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("check_content", stdout=out)
    assert exc.value.code == 1
    assert "ERROR Gout" in out.getvalue() and "1 errors" in out.getvalue()


def test_editors_see_the_findings_when_they_save(client, django_user_model):
    from carepath.conditions.tests.test_validation import add_url, guide_form

    client.force_login(django_user_model.objects.create_superuser("admin", "a@example.org", "pw"))
    form = guide_form(icd10_codes="I63.9")
    del form["action-publish"]
    response = client.post(add_url(), form, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert any("Content check warning" in m and "emergency callout" in m for m in shown), shown


def test_the_review_report_lists_overdue_and_due_soon_pages_with_csv(client, django_user_model):
    from carepath.editorial.models import MedicalReview, MedicalReviewer

    admin = django_user_model.objects.create_superuser("admin", "a@example.org", "pw")
    profile = MedicalReviewer.objects.create(user=admin, name="Synthetic Reviewer", credentials="MD")
    today = datetime.date.today()
    for slug, due in (("gout", today - datetime.timedelta(days=3)), ("lupus", today + datetime.timedelta(days=30))):
        page = guide(slug)
        revision = page.save_revision()
        MedicalReview.objects.create(
            page=page,
            revision=revision,
            reviewer=profile,
            reviewed_on=due - datetime.timedelta(days=1000),
            next_review_due=due,
        )
        revision.publish()
    client.force_login(admin)
    html = client.get("/admin/reports/medical-review-due/").content.decode()
    assert "Gout" in html and "Lupus" in html and "overdue" in html and "due soon" in html
    response = client.get("/admin/reports/medical-review-due/?export=csv")
    csv_text = b"".join(response.streaming_content).decode()
    lines = csv_text.splitlines()
    assert lines[0].split(",") == CSV_HEADINGS
    assert lines[1].startswith("Gout,") and "overdue" in lines[1] and "Synthetic Reviewer, MD" in lines[1]
    assert lines[2].startswith("Lupus,") and "due soon" in lines[2]

    out = io.StringIO()
    call_command("review_report", stdout=out)
    printed = out.getvalue().splitlines()
    assert printed[0].split(",") == CSV_HEADINGS
    assert printed[1].startswith("Gout,") and printed[2].startswith("Lupus,")
    assert any("not yet reviewed" in line for line in printed[3:])

    dashboard = client.get("/admin/").content.decode()
    assert "1 overdue, 1 due within 60 days" in dashboard
