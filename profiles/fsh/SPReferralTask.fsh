Profile: SPReferralTask
Parent: Task
Id: SPReferralTask
Title: "SP Referral Task"
Description: "Tracks fulfilment of a social prescribing referral (closed-loop referral pattern)."
* insert SPMetadata
* obeys sp-task-1 and sp-task-2 and sp-id-1
* status MS
* status from $vs-task-status (required)
* statusReason MS
* statusReason from $vs-reject-reason (extensible)
* businessStatus MS
* businessStatus from $vs-business-status (extensible)
* intent MS
* intent = #order (exactly)
* code 1..1 MS
* code = $task-code#fulfill
* focus 1..1 MS
* focus only Reference(ServiceRequest)
* for 1..1 MS
* for only Reference(Patient)
* authoredOn 1..1 MS
* lastModified 1..1 MS
* requester 1..1 MS
* owner MS
* owner only Reference(Organization or HealthcareService or PractitionerRole)
* owner ^short = "The social prescribing service or link worker (absent while unclaimed)"
* executionPeriod MS
* partOf MS
* partOf only Reference(Task)
* output MS
* output.type MS
* output.type from $vs-task-output-type (required)
* output.type ^short = "personalised-plan | resulting-activity | outcome | onward-referral"
