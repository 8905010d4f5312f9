from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "carepath.core"
    label = "core"
    verbose_name = "Site"

    def ready(self):
        from carepath.core import signals

        signals.connect()
