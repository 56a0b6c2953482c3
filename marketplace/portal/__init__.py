"""The vendor portal at /portal/: server-rendered pages that call the registry's, the
certification pipeline's and the tenancy actions, scoped with ``for_request``."""
