"""The moderation queue in the CMS: confirmed reviews wait here until a moderator publishes or rejects them."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from carepath.directory.models import ProviderReview
from carepath.directory.reviews import approve_review, reject_review

PERMISSION = "directory.change_providerreview"


@permission_required(PERMISSION, raise_exception=True)
def queue(request):
    status = request.GET.get("status", ProviderReview.PENDING)
    if status not in dict(ProviderReview.STATUSES):
        status = ProviderReview.PENDING
    reviews = ProviderReview.objects.filter(status=status).select_related("provider").order_by("confirmed_at")[:200]
    return TemplateResponse(
        request,
        "directory/admin/moderation_queue.html",
        {"reviews": reviews, "status": status, "statuses": ProviderReview.STATUSES},
    )


@require_POST
@permission_required(PERMISSION, raise_exception=True)
def decide(request, pk):
    review = get_object_or_404(ProviderReview, pk=pk)
    try:
        if request.POST.get("decision") == "approve":
            approve_review(review)
            messages.success(request, f"Published the review of {review.provider.display_name}.")
        elif request.POST.get("decision") == "reject":
            reject_review(review, request.POST.get("reason", ""))
            messages.success(request, f"Rejected the review of {review.provider.display_name}.")
        else:
            messages.error(request, "Choose publish or reject.")
    except ValueError as exc:
        messages.error(request, f"Nothing changed: {exc}.")
    return redirect("review_moderation")
