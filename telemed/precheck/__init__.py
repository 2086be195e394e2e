"""The pre-call check (docs/telemedicine.md, "Pre-call check"): a patient's devices and connection, tested
against this server before the visit, judged in plain words and kept with the visit for the clinician."""
