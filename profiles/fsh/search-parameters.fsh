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
