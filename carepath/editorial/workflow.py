"""Set-up of the Medical review workflow: the reviewers' group, the task, the workflow and where it applies."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from wagtail.models import Workflow, WorkflowPage, WorkflowTask

from carepath.editorial.models import REVIEWERS_GROUP, MedicalReviewTask

WORKFLOW_NAME = "Medical review"


@transaction.atomic
def ensure_review_workflow():
    """Create what is missing, change nothing that exists: the "Medical reviewers" group (admin access only: the
    task lets them open and review pages in their queue), a "Medical review" task and workflow, and that workflow
    on /conditions/ and /slideshows/ (so on every guide and slideshow). Returns the workflow."""
    from carepath.conditions.models import ConditionIndexPage, SlideshowIndexPage

    group, _ = Group.objects.get_or_create(name=REVIEWERS_GROUP)
    access = Permission.objects.filter(content_type__app_label="wagtailadmin", codename="access_admin").first()
    if access:
        group.permissions.add(access)
    task = MedicalReviewTask.objects.filter(name=WORKFLOW_NAME).first() or MedicalReviewTask.objects.create(
        name=WORKFLOW_NAME
    )
    workflow = Workflow.objects.filter(name=WORKFLOW_NAME).first()
    if workflow is None:
        workflow = Workflow.objects.create(name=WORKFLOW_NAME)
        WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    for index in (*ConditionIndexPage.objects.all(), *SlideshowIndexPage.objects.all()):
        WorkflowPage.objects.get_or_create(page=index, defaults={"workflow": workflow})
    return workflow
