from django.apps import AppConfig


class VocabularyConfig(AppConfig):
    name = "carepath.vocabulary"
    label = "vocabulary"
    verbose_name = "Vocabulary"

    def ready(self):
        from carepath.vocabulary import signals  # noqa: F401  (connects the rebuild-on-publish receivers)
