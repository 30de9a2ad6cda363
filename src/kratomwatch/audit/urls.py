from django.urls import path

from kratomwatch.audit import views

urlpatterns = [path("", views.audit_log, name="audit-log")]
