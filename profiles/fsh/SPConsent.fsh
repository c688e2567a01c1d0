Profile: SPConsent
Parent: Consent
Id: SPConsent
Title: "SP Consent"
Description: "The person's consent to share information for the referral (referenced from SPReferral.supportingInfo)."
* insert SPMetadata
* obeys sp-id-1
// R4's own example for Consent.identifier (system urn:ietf:rfc:3986 with a value that is no URI) breaks
// the Identifier rule it sits under; the profile gives an example that keeps it.
* identifier ^example[0].label = "General"
* identifier ^example[0].valueIdentifier.system = "https://riverside-medical-practice.example.org/consent-id"
* identifier ^example[0].valueIdentifier.value = "C-2025-000123"
* status MS
* scope MS
* category 1..* MS
* patient 1..1 MS
* patient only Reference(Patient)
* dateTime MS
