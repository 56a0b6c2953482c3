"""The offline vulnerability database: OSV import, re-scans of certified versions after an
import, their Celery task and admin pages. The matching itself lives in ``security/``."""
