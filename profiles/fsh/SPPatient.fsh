Profile: SPPatient
Parent: Patient
Id: SPPatient
Title: "SP Patient"
Description: "The person referred for social prescribing. NHS number required unless a reason it is unavailable is given; its check digit is verified by the server."
* insert SPMetadata
* obeys sp-pat-1 and sp-pat-2 and sp-pat-3 and sp-pat-4 and sp-id-1
* extension contains NHSNumberUnavailableReason named nhsNumberUnavailableReason 0..1 MS
* extension[nhsNumberUnavailableReason].value[x] MS
* identifier MS
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier ^slicing.description = "Slice on identifier system: the NHS number"
* identifier contains nhsNumber 0..1 MS
* identifier[nhsNumber].system 1..1 MS
* identifier[nhsNumber].system = "https://fhir.nhs.uk/Id/nhs-number" (exactly)
* identifier[nhsNumber].value 1..1 MS
// Declared after the slice so it stays on Patient.identifier (any identifier) and is not copied
// into the nhsNumber slice: @medplum/core's snapshot parser cannot read a slice nested in a slice.
* identifier.extension contains ExtensionUKCoreNHSNumberVerificationStatus named nhsNumberVerificationStatus 0..1 MS
* identifier.extension[nhsNumberVerificationStatus].value[x] MS
* name 1..* MS
* birthDate MS
* gender MS
