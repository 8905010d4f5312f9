from django.shortcuts import get_object_or_404, render

from carepath.editorial.models import MedicalReviewer


def reviewer_profile(request, slug):
    """/reviewers/<slug>/: who the reviewer is and the live pages whose current review they made."""
    reviewer = get_object_or_404(MedicalReviewer.objects.select_related("photo"), slug=slug)
    return render(
        request,
        "editorial/reviewer_profile.html",
        {"reviewer": reviewer, "pages": reviewer.pages_reviewed()},
    )
