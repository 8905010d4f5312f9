from django.http import HttpResponseForbidden
from django.shortcuts import get_object_or_404
from wagtail.models import Page, TaskState

REFUSED = "You cannot take this review action on this page: only a medical reviewer who did not write the change can."


class ReviewActionGuardMiddleware:
    """A workflow action the task does not offer this user is a 403 before any view runs. Wagtail's admin turns
    its own refusals into a redirect to the dashboard; a crafted approval deserves a plain refusal."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name != "wagtailadmin_pages:workflow_action":
            return None
        page = get_object_or_404(Page, pk=view_kwargs["page_id"]).specific
        state = get_object_or_404(TaskState, pk=view_kwargs["task_state_id"])
        task = state.task.specific
        actions = (
            {name for name, _, _ in task.get_actions(page, request.user)} if request.user.is_authenticated else set()
        )
        if view_kwargs["action_name"] not in actions or state.status != TaskState.STATUS_IN_PROGRESS:
            return HttpResponseForbidden(REFUSED)
        return None
