Profile: SPGoal
Parent: Goal
Id: SPGoal
Title: "SP Goal"
Description: "A goal of the person (\"what matters to me\")."
* insert SPMetadata
* obeys sp-id-1
* lifecycleStatus 1..1 MS
* description 1..1 MS
* subject 1..1 MS
* subject only Reference(Patient)
