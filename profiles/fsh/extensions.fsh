// Extensions. The two UK Core ones are local stand-ins published at UK Core's own canonical URLs.

Extension: ExtensionUKCoreSourceOfServiceRequest
Id: Extension-UKCore-SourceOfServiceRequest
Title: "Source of service request (local definition of the UK Core extension)"
Description: "The source of the referral (who referred the person, or self-referral). This is the project's local definition of the UK Core extension, published at UK Core's canonical URL so that resources using the national extension validate here; it is to be replaced by UK Core's own definition when the UK Core package is available to the build."
Context: ServiceRequest
* insert SPMetadata
* ^url = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest"
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from $vs-source-of-referral (extensible)

Extension: ExtensionUKCoreNHSNumberVerificationStatus
Id: Extension-UKCore-NHSNumberVerificationStatus
Title: "NHS number verification status (local definition of the UK Core extension)"
Description: "The verification status of an NHS number (codes 01-08). This is the project's local definition of the UK Core extension, published at UK Core's canonical URL so that resources using the national extension validate here; it is to be replaced by UK Core's own definition when the UK Core package is available to the build."
Context: Identifier
* insert SPMetadata
* ^url = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from $vs-nhs-number-verification-status (required)

Extension: CapacityStatus
Id: capacity-status
Title: "Capacity status"
Description: "Whether a community service can take new referrals now: capacity | no-capacity | waitlist | additional-assessment-required."
Context: HealthcareService
* insert SPMetadata
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from $vs-capacity-status (required)

Extension: NHSNumberUnavailableReason
Id: nhs-number-unavailable-reason
Title: "NHS number unavailable reason"
Description: "Why the person's NHS number is not given (for example not yet traced, not registered, or the person declined). Its presence lifts SPPatient's requirement for an NHS number identifier. The value is a CodeableConcept: a code where one is known, or just text."
Context: Patient
* insert SPMetadata
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] ^short = "Reason the NHS number is unavailable (coded, or text only)"

Extension: ExtensionCarePlanBasedOnR5
Id: extension-CarePlan.basedOn
Title: "CarePlan.basedOn as in FHIR R5 (local definition of the HL7 cross-version extension)"
Description: "The referral (ServiceRequest) a personalised care plan fulfils. R4 CarePlan.basedOn may only reference another CarePlan; FHIR R5 widened it to ServiceRequest, and HL7's cross-version extension at this canonical URL carries the R5 element in R4. This is the project's local definition, limited to ServiceRequest, to be replaced by the definition in HL7's cross-version package (hl7.fhir.uv.xver-r5.r4) when it is available to the build."
Context: CarePlan
* insert SPMetadata
* ^url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-CarePlan.basedOn"
* value[x] 1..1
* value[x] only Reference(ServiceRequest)
