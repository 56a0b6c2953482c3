"""The certification pipeline: actions (submit, review, sweep), orchestration (stages run
as a Celery canvas, results recorded once, the verdict), and the stages themselves."""
