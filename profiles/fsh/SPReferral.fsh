Profile: SPReferral
Parent: ServiceRequest
Id: SPReferral
Title: "SP Referral"
Description: "A referral to a social prescribing service (SNOMED CT 871731000000106)."
* insert SPMetadata
* obeys sp-ref-1 and sp-id-1
* extension contains ExtensionUKCoreSourceOfServiceRequest named sourceOfReferral 1..1 MS
* extension[sourceOfReferral].value[x] MS
* identifier 1..* MS
* identifier ^short = "The referrer's own identifier for the referral (used for idempotency)"
* status 1..1 MS
* intent 1..1 MS
* intent ^short = "order (plan is accepted from BaRS senders)"
* code 1..1 MS
* code = $sct#871731000000106
* code from $vs-referral-code (required)
* subject 1..1 MS
* subject only Reference(Patient)
* authoredOn 1..1 MS
* requester 1..1 MS
* requester only Reference(PractitionerRole or Practitioner or Organization or Patient or RelatedPerson)
* performer MS
* performer only Reference(HealthcareService or Organization or PractitionerRole)
* reasonCode MS
* reasonCode from $vs-needs (extensible)
* supportingInfo MS
* supportingInfo only Reference(Consent)
* supportingInfo ^short = "Consent to share"
