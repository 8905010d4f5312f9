"""The Medical review workflow through the admin, with named users: an editor who writes, two medical reviewers,
an outsider and an administrator."""

import datetime
import json

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from wagtail.models import PageLogEntry, TaskState, WorkflowState

from carepath.conditions.models import ConditionPage
from carepath.conditions.tests.test_validation import add_url, guide_form
from carepath.editorial.models import REVIEWERS_GROUP, MedicalReview, MedicalReviewer, add_months

pytestmark = pytest.mark.django_db
User = get_user_model()


def make_user(username, *groups, superuser=False):
    if superuser:
        return User.objects.create_superuser(username, f"{username}@example.org", "pw")
    user = User.objects.create_user(username, f"{username}@example.org", "pw", first_name=username.title())
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def editor():
    return make_user("editor", "Editors")


@pytest.fixture
def reviewer():
    user = make_user("reviewer", REVIEWERS_GROUP, "Editors")
    MedicalReviewer.objects.create(user=user, name="Rowan Testreviewer", credentials="MD", specialty="Neurology")
    return user


@pytest.fixture
def second_reviewer():
    user = make_user("second", REVIEWERS_GROUP)
    MedicalReviewer.objects.create(user=user, name="Sam Secondreviewer", credentials="PharmD")
    return user


@pytest.fixture
def outsider():
    return make_user("outsider")


@pytest.fixture
def admin_user():
    return make_user("admin", superuser=True)


def as_user(client, user):
    client.force_login(user)
    return client


def submit_new_guide(client, user, slug="test-condition", **overrides):
    form = guide_form(slug=slug, **overrides)
    del form["action-publish"]
    form["action-submit"] = "action-submit"
    response = as_user(client, user).post(add_url(), form)
    assert response.status_code == 302, response.content[:2000]
    return ConditionPage.objects.get(slug=slug)


def task_state_of(page):
    return page.current_workflow_task_state


def act(client, user, page, action, **data):
    state = task_state_of(page)
    url = reverse("wagtailadmin_pages:workflow_action", args=[page.pk, action, state.pk])
    return as_user(client, user).post(url, data)


def fresh(page):
    return ConditionPage.objects.get(pk=page.pk)


def test_an_editor_submits_and_a_reviewer_approves_with_a_comment(client, editor, reviewer):
    page = submit_new_guide(client, editor)
    assert not page.live
    assert page.current_workflow_state.workflow.name == "Medical review"

    response = act(client, reviewer, page, "approve", comment="Checked against the cited NIH pages.")
    assert response.status_code == 302
    page = fresh(page)
    today = datetime.date.today()
    assert page.live
    assert page.last_reviewed == today
    assert page.next_review_due == add_months(today, 36)
    profile = MedicalReviewer.objects.get(user=reviewer)
    assert list(page.reviewers.all()) == [profile]
    review = MedicalReview.objects.get(page=page)
    assert review.revision_id == page.live_revision_id and review.reviewer == profile and not review.typo_fix

    public = client.get(page.url).content.decode()
    assert f'<a href="/reviewers/{profile.slug}/">Rowan Testreviewer, MD</a>' in public
    assert "Next review due" in public and "Not yet medically reviewed" not in public

    # The approval comment sits beside the revision it approved in the admin history.
    entry = PageLogEntry.objects.get(page=page, action="wagtail.workflow.approve")
    assert entry.revision_id == page.live_revision_id
    assert entry.data["comment"] == "Checked against the cited NIH pages."
    history = as_user(client, editor).get(reverse("wagtailadmin_pages:history", args=[page.pk]))
    assert "Checked against the cited NIH pages." in history.content.decode()

    profile_page = client.get(f"/reviewers/{profile.slug}/").content.decode()
    assert "Test condition" in profile_page and "Neurology" in profile_page


def test_a_reviewer_requests_changes_with_a_comment(client, editor, reviewer):
    page = submit_new_guide(client, editor)
    act(client, reviewer, page, "reject", comment="Add the NHS source for the exercise advice.")
    page = fresh(page)
    assert not page.live and page.last_reviewed is None
    state = TaskState.objects.filter(workflow_state__object_id=str(page.pk)).get()
    assert state.status == TaskState.STATUS_REJECTED
    assert state.comment == "Add the NHS source for the exercise advice."
    assert page.current_workflow_state.status == WorkflowState.STATUS_NEEDS_CHANGES


def test_requesting_changes_needs_a_comment(client, editor, reviewer):
    page = submit_new_guide(client, editor)
    act(client, reviewer, page, "reject", comment="")
    assert task_state_of(fresh(page)).status == TaskState.STATUS_IN_PROGRESS


def test_a_reviewer_cannot_approve_their_own_edit(client, reviewer, second_reviewer):
    page = submit_new_guide(client, reviewer)
    state = task_state_of(page)
    assert state.task.specific.get_actions(page, reviewer) == []
    response = act(client, reviewer, page, "approve", comment="Looks right to me.")
    assert response.status_code == 403
    page = fresh(page)
    assert not page.live and page.last_reviewed is None
    assert TaskState.objects.get(pk=state.pk).status == TaskState.STATUS_IN_PROGRESS
    assert not MedicalReview.objects.filter(page=page).exists()

    # Another reviewer can.
    act(client, second_reviewer, page, "approve")
    page = fresh(page)
    assert page.live and [r.user for r in page.reviewers.all()] == [second_reviewer]


@pytest.mark.parametrize("who", ["editor", "outsider", "admin_user"])
def test_a_crafted_approval_by_a_non_reviewer_is_refused_and_changes_nothing(client, request, editor, reviewer, who):
    page = submit_new_guide(client, editor)
    state = task_state_of(page)
    revisions = page.revisions.count()
    user = request.getfixturevalue(who)
    response = act(client, user, page, "approve", comment="approved")
    assert response.status_code == 403
    # Through the edit view too.
    edit = as_user(client, user).post(
        reverse("wagtailadmin_pages:edit", args=[page.pk]),
        {"action-workflow-action": "1", "workflow-action-name": "approve", "title": "Changed"},
    )
    assert edit.status_code in (302, 403)
    if who != "outsider":
        assert edit.status_code == 403
    page = fresh(page)
    assert not page.live and page.title == "Test condition" and page.last_reviewed is None
    assert page.revisions.count() == revisions
    assert TaskState.objects.get(pk=state.pk).status == TaskState.STATUS_IN_PROGRESS
    assert not MedicalReview.objects.exists()


def test_an_editor_cannot_publish_a_guide_without_the_workflow(client, editor):
    response = as_user(client, editor).post(add_url(), guide_form())
    assert response.status_code == 403
    assert not ConditionPage.objects.filter(slug="test-condition").exists()
    moderator = make_user("moderator", "Moderators")
    response = as_user(client, moderator).post(add_url(), guide_form())
    assert response.status_code == 403
    assert not ConditionPage.objects.filter(slug="test-condition").exists()
    # The add form offers submission for review, not publication.
    form_page = as_user(client, editor).get(add_url()).content.decode()
    assert "Submit to Medical review" in form_page and 'name="action-publish"' not in form_page


def test_an_administrators_bypass_leaves_the_page_not_yet_reviewed(client, editor, reviewer, admin_user):
    page = submit_new_guide(client, editor)
    act(client, reviewer, page, "approve")
    assert fresh(page).last_reviewed is not None

    form = guide_form(summary="A changed summary, published directly.")
    response = as_user(client, admin_user).post(reverse("wagtailadmin_pages:edit", args=[page.pk]), form)
    assert response.status_code == 302
    page = fresh(page)
    assert page.live and page.summary == "A changed summary, published directly."
    assert page.last_reviewed is None and page.next_review_due is None and not page.reviewers.exists()
    assert "Not yet medically reviewed." in client.get(page.url).content.decode()
    assert PageLogEntry.objects.filter(page=page, action="carepath.published_unreviewed").exists()
    # The approval stays in the history, beside the revision it approved.
    assert MedicalReview.objects.filter(page=page).count() == 1


def test_a_typo_fix_keeps_the_date_of_the_last_full_review(client, editor, reviewer, second_reviewer):
    with time_machine.travel(datetime.datetime(2026, 3, 2, 15, 0), tick=False):
        page = submit_new_guide(client, editor)
        assert ("approve_typo_fix", "Approve as typo fix only", True) not in task_state_of(
            page
        ).task.specific.get_actions(page, reviewer)
        act(client, reviewer, page, "approve")
    with time_machine.travel(datetime.datetime(2026, 7, 20, 15, 0), tick=False):
        form = guide_form(summary="A short summery.".replace("summery", "summary") + " Fixed a typo.")
        del form["action-publish"]
        form["action-submit"] = "action-submit"
        assert as_user(client, editor).post(reverse("wagtailadmin_pages:edit", args=[page.pk]), form).status_code == 302
        page = fresh(page)
        act(client, second_reviewer, page, "approve_typo_fix", comment="Spelling only.")
        page = fresh(page)
        assert page.summary.endswith("Fixed a typo.")
        assert page.last_reviewed == datetime.date(2026, 3, 2)
        assert page.next_review_due == datetime.date(2029, 3, 2)
        assert [r.user for r in page.reviewers.all()] == [reviewer]
        fix = MedicalReview.objects.get(page=page, typo_fix=True)
        assert fix.reviewer.user == second_reviewer and fix.basis.reviewer.user == reviewer


def test_the_overdue_notice_and_structured_data_with_frozen_time(client, editor, reviewer):
    with time_machine.travel(datetime.datetime(2026, 1, 10, 15, 0), tick=False):
        page = submit_new_guide(client, editor)
        act(client, reviewer, page, "approve")
        html = client.get(page.url).content.decode()
        assert "due for medical review" not in html
        assert 'Next review due <time datetime="2029-01-10">' in html
    with time_machine.travel(datetime.datetime(2029, 1, 11, 15, 0), tick=False):
        html = client.get(page.url).content.decode()
        assert "This page is due for medical review." in html
        data = json.loads(html.split('<script type="application/ld+json">')[1].split("</script>")[0])
        assert data["lastReviewed"] == "2026-01-10"
        assert data["reviewedBy"][0]["name"] == "Rowan Testreviewer"


def test_the_next_review_date_given_by_the_reviewer_must_follow_the_review(client, editor, reviewer):
    page = submit_new_guide(client, editor)
    state = task_state_of(page)
    url = reverse("wagtailadmin_pages:workflow_action", args=[page.pk, "approve", state.pk])
    response = as_user(client, reviewer).post(
        url, {"comment": "", "next_review_due": "2020-01-01"}, headers={"x-requested-with": "XMLHttpRequest"}
    )
    assert "The next review must be due after the review date" in response.json()["html"]
    assert not fresh(page).live and TaskState.objects.get(pk=state.pk).status == TaskState.STATUS_IN_PROGRESS
    as_user(client, reviewer).post(url, {"next_review_due": "2027-06-30"})
    assert fresh(page).next_review_due == datetime.date(2027, 6, 30)


def test_the_dashboard_lists_the_review_queue_for_a_reviewer(client, editor, reviewer):
    submit_new_guide(client, editor)
    html = as_user(client, reviewer).get("/admin/").content.decode()
    assert "Test condition" in html and "Medical review due" in html


@pytest.mark.parametrize(
    "credentials, message",
    [("", "needs credentials"), ("Dr", "None of Dr is a clinical credential"), ("FACS", "None of FACS")],
)
def test_a_reviewer_profile_needs_clinical_credentials(credentials, message, reviewer):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        MedicalReviewer(user=reviewer, name="No Letters", credentials=credentials).full_clean()
    assert message in " ".join(exc.value.message_dict["credentials"])
    MedicalReviewer(user=make_user("np"), name="Nurse Practitioner", credentials="NP, FAANP").full_clean()


def test_a_reviewer_profile_names_its_cms_account():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        MedicalReviewer(name="No Account", credentials="MD").full_clean()
    assert "user" in exc.value.message_dict


def test_an_unknown_reviewer_page_is_404(client):
    assert client.get("/reviewers/nobody-here/").status_code == 404


def test_the_medical_review_workflow_is_the_default_for_guides_and_slideshows_and_set_up_once():
    from wagtail.models import Workflow, WorkflowPage

    from carepath.conditions.models import SlideshowPage
    from carepath.editorial.workflow import ensure_review_workflow

    assert ConditionPage.objects.get(slug="gout").get_workflow().name == "Medical review"
    assert SlideshowPage.objects.first().get_workflow().name == "Medical review"
    before = (Workflow.objects.count(), WorkflowPage.objects.count(), Group.objects.count())
    ensure_review_workflow()
    assert (Workflow.objects.count(), WorkflowPage.objects.count(), Group.objects.count()) == before
