Profile: SPMessageHeader
Parent: MessageHeader
Id: SPMessageHeader
Title: "SP Message Header"
Description: "Header of a BaRS-pattern message (Bundle type=message)."
* insert SPMetadata
* event[x] only Coding
* eventCoding 1..1 MS
* eventCoding.system 1..1
* eventCoding.system = "https://fhir.nhs.uk/CodeSystem/message-events-bars" (exactly)
* eventCoding.code 1..1
* focus 1..* MS
* source MS
* source.endpoint 1..1 MS
* reason MS
* response MS
