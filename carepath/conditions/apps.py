from django.apps import AppConfig


class ConditionsConfig(AppConfig):
    name = "carepath.conditions"
    label = "conditions"
    verbose_name = "Condition guides"
