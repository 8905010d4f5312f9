from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "carepath.search"
    label = "site_search"  # "search" is taken by wagtail.search
    verbose_name = "Site search"
