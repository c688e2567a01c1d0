// Shared aliases and rule sets for the social prescribing profiles.
// Canonical base of the project: https://social-prescribing.example.org/fhir

Alias: $sct = http://snomed.info/sct
Alias: $task-code = http://hl7.org/fhir/CodeSystem/task-code

// Value sets authored in terminology/ (same canonical base).
Alias: $vs-task-status = https://social-prescribing.example.org/fhir/ValueSet/sp-task-status
Alias: $vs-business-status = https://social-prescribing.example.org/fhir/ValueSet/sp-business-status
Alias: $vs-reject-reason = https://social-prescribing.example.org/fhir/ValueSet/sp-reject-reason
Alias: $vs-source-of-referral = https://social-prescribing.example.org/fhir/ValueSet/sp-source-of-referral
Alias: $vs-referral-code = https://social-prescribing.example.org/fhir/ValueSet/sp-referral-code
Alias: $vs-needs = https://social-prescribing.example.org/fhir/ValueSet/sp-needs
Alias: $vs-activity-type = https://social-prescribing.example.org/fhir/ValueSet/sp-activity-type
Alias: $vs-capacity-status = https://social-prescribing.example.org/fhir/ValueSet/sp-capacity-status
Alias: $vs-nhs-number-verification-status = https://social-prescribing.example.org/fhir/ValueSet/sp-nhs-number-verification-status
Alias: $vs-directory-taxonomy = https://social-prescribing.example.org/fhir/ValueSet/sp-directory-taxonomy
Alias: $vs-task-output-type = https://social-prescribing.example.org/fhir/ValueSet/sp-task-output-type

// Metadata every profile and extension carries.
RuleSet: SPMetadata
* ^status = #active
* ^experimental = false
* ^publisher = "Social prescribing FHIR server project"
