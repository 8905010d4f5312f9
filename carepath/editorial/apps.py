from django.apps import AppConfig


class EditorialConfig(AppConfig):
    name = "carepath.editorial"
    label = "editorial"
    verbose_name = "Medical review"

    def ready(self):
        from wagtail.signals import page_published

        from carepath.editorial.signals import page_published_handler

        page_published.connect(page_published_handler, dispatch_uid="carepath_review_record")
