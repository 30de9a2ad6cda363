"""The claim checker: reads an article about kratom sentence by sentence and sets each claim beside the evidence
library (docs/claims.md). Reads no patient data."""
