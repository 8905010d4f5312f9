from django.urls import path

from carepath.api.api import api

urlpatterns = [path("v1/", api.urls)]
