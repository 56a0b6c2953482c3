"""Certificates: issuing signed certificates for passed runs, and the platform key ring
that signs them and is published for offline verification."""
