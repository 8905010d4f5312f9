from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "carepath.directory"
    label = "directory"
    verbose_name = "Find a doctor"
