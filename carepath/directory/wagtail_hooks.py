from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from carepath.directory import moderation


@hooks.register("register_admin_urls")
def moderation_urls():
    return [
        path("review-moderation/", moderation.queue, name="review_moderation"),
        path("review-moderation/<int:pk>/", moderation.decide, name="review_moderation_decide"),
    ]


@hooks.register("register_admin_menu_item")
def moderation_menu_item():
    return MenuItem(
        "Review moderation",
        reverse("review_moderation"),
        icon_name="comment",
        order=900,
        name="review-moderation",
    )
