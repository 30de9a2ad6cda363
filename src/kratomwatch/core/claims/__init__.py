"""The pure part of the claim checker: ConText on token positions and the verdict rules (docs/claims.md)."""
