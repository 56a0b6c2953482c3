from django.urls import path

from edgeplug.accounts import views

urlpatterns = [
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me", views.MeView.as_view(), name="auth-me"),
    path("auth/mfa/totp", views.TotpEnrolView.as_view(), name="auth-totp-enrol"),
    path("auth/mfa/totp/confirm", views.TotpConfirmView.as_view(), name="auth-totp-confirm"),
]
