from django.urls import path

from kratomwatch.consent import views

urlpatterns = [path("<str:code>/", views.consent_page, name="consent")]
