from django.apps import AppConfig


class EditorialConfig(AppConfig):
    name = "carepath.editorial"
    label = "editorial"
    verbose_name = "Medical review"
