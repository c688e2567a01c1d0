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
Description: "An NHS number is exactly 10 digits"
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

Invariant: sp-pat-4
Description: "An NHS number's last digit is its Modulus 11 check digit"
Severity: #error
// Digits weighted 10..2 plus the check digit (weight 1) sum to a multiple of 11 exactly when the check digit
// is right; a remainder of 10 (no valid check digit) can never reach 0, as the digit is at most 9.
Expression: "identifier.where(system = 'https://fhir.nhs.uk/Id/nhs-number' and value.matches('^[0-9]{10}$')).all((value.substring(0,1).toInteger() * 10 + value.substring(1,1).toInteger() * 9 + value.substring(2,1).toInteger() * 8 + value.substring(3,1).toInteger() * 7 + value.substring(4,1).toInteger() * 6 + value.substring(5,1).toInteger() * 5 + value.substring(6,1).toInteger() * 4 + value.substring(7,1).toInteger() * 3 + value.substring(8,1).toInteger() * 2 + value.substring(9,1).toInteger()) mod 11 = 0)"

Invariant: sp-id-1
Description: "An identifier system on an nhs.uk host that names the NHS number, ODS or SDS must be one of https://fhir.nhs.uk/Id/nhs-number, https://fhir.nhs.uk/Id/ods-organization-code, https://fhir.nhs.uk/Id/ods-site-code or https://fhir.nhs.uk/Id/sds-role-profile-id, spelt exactly"
Severity: #error
// Regular expressions cover the whole string ([.] for a dot), so that they mean the same whether an engine
// matches the whole value or searches in it.
Expression: "identifier.all((system.exists() and system.lower().matches('^(https?://)?(.*[.])?nhs[.]uk/.*$') and system.lower().matches('^.*(nhs-?number|ods|sds).*$')) implies (system = 'https://fhir.nhs.uk/Id/nhs-number' or system = 'https://fhir.nhs.uk/Id/ods-organization-code' or system = 'https://fhir.nhs.uk/Id/ods-site-code' or system = 'https://fhir.nhs.uk/Id/sds-role-profile-id'))"
