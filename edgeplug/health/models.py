"""Celery task counts, kept in the database so web, worker and beat processes share them."""

from django.db import models


class TaskCounter(models.Model):
    task = models.CharField(max_length=200)
    state = models.CharField(max_length=16)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "state"], name="one_counter_per_task_state")
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.state}={self.count}"
