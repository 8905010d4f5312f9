"""Admin set-up of the medical review: publishing only through the workflow, content checks on save, the
"Medical review due" report and dashboard panel, and the history entry of a publication without review."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseForbidden
from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.menu import MenuItem

from carepath.editorial.admin_views import ReviewDuePanel, ReviewDueReportView
from carepath.editorial.checks import ERROR, check_glossary_term, check_page
from carepath.editorial.middleware import REFUSED
from carepath.editorial.models import MedicalReviewMixin
from carepath.editorial.signals import UNREVIEWED_ACTION


def _reviewed_type(page_or_class):
    cls = page_or_class if isinstance(page_or_class, type) else type(page_or_class.specific)
    return issubclass(cls, MedicalReviewMixin)


def _refuse_crafted_requests(request, page_class, page=None):
    """A guide is published by the Medical review workflow (or, marked unreviewed, by an administrator):
    anyone else asking to publish, or to take a workflow action the task does not offer them, gets a 403 and
    nothing is saved."""
    if request.method != "POST" or not _reviewed_type(page_class):
        return None
    if request.POST.get("action-publish") and not request.user.is_superuser:
        return HttpResponseForbidden(
            "Guides and slideshows are published by the Medical review workflow: submit the page for review."
        )
    if request.POST.get("action-workflow-action") and page is not None:
        task = page.current_workflow_task
        wanted = request.POST.get("workflow-action-name")
        if task is None or wanted not in {name for name, _, _ in task.get_actions(page, request.user)}:
            return HttpResponseForbidden(REFUSED)
    return None


@hooks.register("before_create_page")
def refuse_publish_on_create(request, parent_page, page_class):
    return _refuse_crafted_requests(request, page_class)


@hooks.register("before_edit_page")
def refuse_publish_on_edit(request, page):
    return _refuse_crafted_requests(request, type(page.specific), page.specific)


@hooks.register("construct_page_action_menu")
def hide_publish_button(menu_items, request, context):
    page = context.get("page")
    model = (page.specific_class or type(page)) if page is not None else None
    if model is not None and _reviewed_type(model) and not request.user.is_superuser:
        menu_items[:] = [item for item in menu_items if item.name != "action-publish"]


@hooks.register("before_bulk_action")
def refuse_bulk_publish(request, action_type, objects, action_class_instance):
    if action_type == "publish" and not request.user.is_superuser:
        if any(_reviewed_type(obj) for obj in objects):
            raise PermissionDenied("Guides and slideshows are published by the Medical review workflow.")


def _show_findings(request, findings):
    for finding in findings:
        text = f"{finding.where}: {finding.message}"
        if finding.level == ERROR:
            messages.error(request, f"Content check error. {text}")
        else:
            messages.warning(request, f"Content check warning. {text}")


def _check_saved_page(request, page):
    page = page.specific
    if not isinstance(page, MedicalReviewMixin):
        return
    revision = page.get_latest_revision()
    _show_findings(request, check_page(revision.as_object() if revision else page))


hooks.register("after_create_page", _check_saved_page)
hooks.register("after_edit_page", _check_saved_page)


def _check_saved_snippet(request, instance):
    from carepath.conditions.models import GlossaryTerm

    if isinstance(instance, GlossaryTerm):
        _show_findings(request, list(check_glossary_term(instance)))


hooks.register("after_create_snippet", _check_saved_snippet)
hooks.register("after_edit_snippet", _check_saved_snippet)


@hooks.register("register_log_actions")
def register_review_log_actions(actions):
    actions.register_action(
        UNREVIEWED_ACTION,
        "Published without medical review",
        'Published without medical review: the page shows "Not yet medically reviewed"',
    )


@hooks.register("register_admin_urls")
def review_report_urls():
    return [
        path("reports/medical-review-due/", ReviewDueReportView.as_view(), name="medical_review_due"),
        path(
            "reports/medical-review-due/results/",
            ReviewDueReportView.as_view(results_only=True),
            name="medical_review_due_results",
        ),
    ]


@hooks.register("register_reports_menu_item")
def review_report_menu_item():
    return MenuItem("Medical review due", reverse("medical_review_due"), icon_name="time", order=650)


@hooks.register("construct_homepage_panels")
def review_due_panel(request, panels):
    panels.append(ReviewDuePanel())
