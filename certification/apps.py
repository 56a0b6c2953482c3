"""Certification pipeline, stages, results, reviews, platform signing keys."""

from django.apps import AppConfig


class CertificationConfig(AppConfig):
    name = "certification"
