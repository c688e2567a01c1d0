Profile: SPOrganization
Parent: Organization
Id: SPOrganization
Title: "SP Organization"
Description: "A GP practice, PCN, ICB or VCSE provider; NHS organisations carry an ODS code."
* insert SPMetadata
* obeys sp-id-1
* identifier MS
* identifier ^short = "ODS code (https://fhir.nhs.uk/Id/ods-organization-code or ods-site-code) or other identifier"
* name 1..1 MS
