Profile: SPLocation
Parent: Location
Id: SPLocation
Title: "SP Location"
Description: "Where a community service is delivered (position used for \"near\" searches)."
* insert SPMetadata
* obeys sp-id-1
* name 1..1 MS
* address MS
* position MS
