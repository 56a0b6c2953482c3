"""Security scan stage: CycloneDX SBOM validation, offline OSV matching, licence and severity gates.

Pure Python with no Django import, so the Celery stage, the `import_osv` command and the tests
all call the same functions; the Django side stores advisories and policy overrides around them.
"""
