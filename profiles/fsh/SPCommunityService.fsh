Profile: SPCommunityService
Parent: HealthcareService
Id: SPCommunityService
Title: "SP Community Service"
Description: "A community offering people can be connected to (maps an Open Referral UK service)."
* insert SPMetadata
* obeys sp-id-1
* extension contains CapacityStatus named capacityStatus 0..1 MS
* extension[capacityStatus].value[x] MS
* identifier 1..* MS
* identifier ^short = "Service identifiers, e.g. the Open Referral service id"
* active MS
* providedBy 1..1 MS
* providedBy only Reference(Organization)
* category MS
* category from $vs-directory-taxonomy (extensible)
* type MS
* type from $vs-activity-type (extensible)
* characteristic MS
* characteristic from $vs-needs (extensible)
* characteristic ^short = "The needs the service serves (loneliness, money advice, carers' support...)"
* location MS
* location only Reference(Location)
* name MS
* availableTime MS
* eligibility MS
