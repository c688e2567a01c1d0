// Invariants. Every expression is FHIRPath that @medplum/core evaluates (checked by profiles' validation).

Invariant: sp-pat-1
Description: "An NHS number identifier (system https://fhir.nhs.uk/Id/nhs-number) is required unless the nhs-number-unavailable-reason extension is present"
Severity: #error
Expression: "identifier.where(system = 'https://fhir.nhs.uk/Id/nhs-number' and value.exists()).exists() or extension.where(url = 'https://social-prescribing.example.org/fhir/StructureDefinition/nhs-number-unavailable-reason').exists()"

Invariant: sp-pat-2
Description: "At most one NHS number identifier"
Severity: #error
Expression: "identifier.where(system = 'https://fhir.nhs.uk/Id/nhs-number').count() <= 1"

Invariant: sp-pat-3
Description: "An NHS number is exactly 10 digits (the check digit is verified by the server)"
Severity: #error
Expression: "identifier.where(system = 'https://fhir.nhs.uk/Id/nhs-number').all(value.matches('^[0-9]{10}$'))"

Invariant: sp-ref-1
Description: "Referral intent is order (or plan, as sent by BaRS senders)"
Severity: #error
Expression: "intent = 'order' or intent = 'plan'"

Invariant: sp-task-1
Description: "statusReason is required when the status is rejected, cancelled, failed or on-hold"
Severity: #error
Expression: "(status = 'rejected' or status = 'cancelled' or status = 'failed' or status = 'on-hold') implies statusReason.exists()"

Invariant: sp-task-2
Description: "At least one output is required when the status is completed"
Severity: #error
Expression: "status = 'completed' implies output.exists()"

Invariant: sp-org-1
Description: "An identifier whose system mentions ODS must use https://fhir.nhs.uk/Id/ods-organization-code or https://fhir.nhs.uk/Id/ods-site-code exactly"
Severity: #error
Expression: "identifier.where(system.lower().contains('ods')).all(system = 'https://fhir.nhs.uk/Id/ods-organization-code' or system = 'https://fhir.nhs.uk/Id/ods-site-code')"
