// SearchParameters the profiles add (emitted as profiles/generated/SearchParameter-<id>.json).
// Canonical: https://social-prescribing.example.org/fhir/SearchParameter/<id>
// Extension values are selected with extension.where(url = '...'), the long form of FHIRPath's
// extension('...'): @medplum/core, which the server uses to index searches, cannot read extension('...').

Instance: Task-business-status
InstanceOf: SearchParameter
Usage: #definition
Title: "Task business status"
* url = "https://social-prescribing.example.org/fhir/SearchParameter/Task-business-status"
* name = "BusinessStatus"
* status = #active
* experimental = false
* publisher = "Social prescribing FHIR server project"
* description = "The business status of the referral Task (social prescribing steps such as first-contact-made or plan-agreed, from the sp-business-status value set)"
* code = #business-status
* base = #Task
* type = #token
* expression = "Task.businessStatus"
* xpathUsage = #normal

Instance: HealthcareService-capacity-status
InstanceOf: SearchParameter
Usage: #definition
Title: "HealthcareService capacity status"
* url = "https://social-prescribing.example.org/fhir/SearchParameter/HealthcareService-capacity-status"
* name = "CapacityStatus"
* status = #active
* experimental = false
* publisher = "Social prescribing FHIR server project"
* description = "Whether a community service can take new referrals now (capacity-status extension: capacity | no-capacity | waitlist | additional-assessment-required)"
* code = #capacity-status
* base = #HealthcareService
* type = #token
* expression = "HealthcareService.extension.where(url = 'https://social-prescribing.example.org/fhir/StructureDefinition/capacity-status').value"
* xpathUsage = #normal

Instance: HealthcareService-activity-type
InstanceOf: SearchParameter
Usage: #definition
Title: "HealthcareService activity type"
* url = "https://social-prescribing.example.org/fhir/SearchParameter/HealthcareService-activity-type"
* name = "ActivityType"
* status = #active
* experimental = false
* publisher = "Social prescribing FHIR server project"
* description = "The kind of activity a community service offers (HealthcareService.type, from the sp-activity-type value set)"
* code = #activity-type
* base = #HealthcareService
* type = #token
* expression = "HealthcareService.type"
* xpathUsage = #normal

Instance: CarePlan-referral
InstanceOf: SearchParameter
Usage: #definition
Title: "CarePlan referral"
* url = "https://social-prescribing.example.org/fhir/SearchParameter/CarePlan-referral"
* name = "Referral"
* status = #active
* experimental = false
* publisher = "Social prescribing FHIR server project"
* description = "The referral (ServiceRequest) a personalised care plan fulfils, carried by the R5 cross-version extension extension-CarePlan.basedOn"
* code = #referral
* base = #CarePlan
* type = #reference
* expression = "CarePlan.extension.where(url = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-CarePlan.basedOn').value"
* xpathUsage = #normal
* target = #ServiceRequest

// Values read from another resource: the server indexes <reference>.resolve().ofType(<Type>).<path>
// by reading the referenced resource at write time, and reindexes the referring resources when it changes.

Instance: ServiceRequest-patient-nhs-number
InstanceOf: SearchParameter
Usage: #definition
Title: "ServiceRequest by the NHS number of its subject"
* url = "https://social-prescribing.example.org/fhir/SearchParameter/ServiceRequest-patient-nhs-number"
* name = "PatientNhsNumber"
* status = #active
* experimental = false
* publisher = "Social prescribing FHIR server project"
* description = "The NHS number of the person referred: the subject Patient's identifier in the https://fhir.nhs.uk/Id/nhs-number system (search as patient-nhs-number=https://fhir.nhs.uk/Id/nhs-number|<number> or patient-nhs-number=<number>)"
* code = #patient-nhs-number
* base = #ServiceRequest
* type = #token
* expression = "ServiceRequest.subject.resolve().ofType(Patient).identifier.where(system = 'https://fhir.nhs.uk/Id/nhs-number')"
* xpathUsage = #normal

Instance: Task-referral-source
InstanceOf: SearchParameter
Usage: #definition
Title: "Task by the source of its referral"
* url = "https://social-prescribing.example.org/fhir/SearchParameter/Task-referral-source"
* name = "ReferralSource"
* status = #active
* experimental = false
* publisher = "Social prescribing FHIR server project"
* description = "Who referred the person (GP, self-referral, ...): the source of referral extension of the ServiceRequest the Task fulfils (Task.focus)"
* code = #referral-source
* base = #Task
* type = #token
* expression = "Task.focus.resolve().ofType(ServiceRequest).extension.where(url = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest').value"
* xpathUsage = #normal

Instance: HealthcareService-need
InstanceOf: SearchParameter
Usage: #definition
Title: "HealthcareService by the need it serves"
* url = "https://social-prescribing.example.org/fhir/SearchParameter/HealthcareService-need"
* name = "Need"
* status = #active
* experimental = false
* publisher = "Social prescribing FHIR server project"
* description = "A need the community service serves (HealthcareService.characteristic, from the sp-needs value set): the same codes as a referral's reasonCode, so a link worker can look for services that meet a person's needs"
* code = #need
* base = #HealthcareService
* type = #token
* expression = "HealthcareService.characteristic"
* xpathUsage = #normal
