Profile: SPPersonalisedCarePlan
Parent: CarePlan
Id: SPPersonalisedCarePlan
Title: "SP Personalised Care Plan"
Description: "The personalised plan agreed between the person and their link worker."
* insert SPMetadata
* obeys sp-id-1
* status 1..1 MS
* intent MS
* intent = #plan (exactly)
* subject 1..1 MS
* subject only Reference(Patient)
* author 1..1 MS
* author only Reference(PractitionerRole or Practitioner)
* author ^short = "The link worker"
// R4 CarePlan.basedOn may only reference a CarePlan: the referral is carried by the R5
// cross-version extension (extension-CarePlan.basedOn, valueReference to the ServiceRequest).
* extension contains ExtensionCarePlanBasedOnR5 named basedOnReferral 0..* MS
* extension[basedOnReferral].value[x] MS
* extension[basedOnReferral] ^short = "The referral (SPReferral) this plan fulfils"
* basedOn MS
* basedOn ^short = "An earlier plan this plan fulfils (R4 allows CarePlan only; the referral goes in extension basedOnReferral)"
* goal MS
* goal only Reference(Goal)
* activity MS
* activity.reference MS
* activity.reference only Reference(ServiceRequest or Task or Appointment)
* activity.detail MS
* activity.detail ^short = "Signposting and other activities without a request of their own"
