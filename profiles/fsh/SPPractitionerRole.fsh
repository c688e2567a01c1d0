Profile: SPPractitionerRole
Parent: PractitionerRole
Id: SPPractitionerRole
Title: "SP Practitioner Role"
Description: "A link worker or referrer in their organisation."
* insert SPMetadata
* obeys sp-id-1
* practitioner MS
* organization MS
* code MS
* healthcareService MS
