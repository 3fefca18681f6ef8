from django.urls import path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("delete/", views.delete_account, name="delete_account"),
]
