"""A FHIR R4 facade over the booking of consultations (docs/telemedicine.md, "FHIR")."""
