"""Generated from proto/ by `make proto` (scripts/protoc.sh); do not edit."""
