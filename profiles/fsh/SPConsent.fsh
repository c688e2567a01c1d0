Profile: SPConsent
Parent: Consent
Id: SPConsent
Title: "SP Consent"
Description: "The person's consent to share information for the referral (referenced from SPReferral.supportingInfo)."
* insert SPMetadata
* status MS
* scope MS
* category 1..* MS
* patient 1..1 MS
* patient only Reference(Patient)
* dateTime MS
