#!/usr/bin/env bash
# Fetches the HL7 FHIR validator and its dependencies from Maven Central into
# .cache/hl7-validator/lib (ignored), and writes the FHIR packages it needs
# into .cache/hl7-validator/home/.fhir/packages: hl7.fhir.r4.core#4.0.1 from
# the genuine R4 definitions (packages.fhir.org is not reachable from CI), and
# an empty hl7.fhir.xver-extensions#0.1.0 (the validator asks for it at start;
# this project uses no cross-version extension). Does nothing when all is there.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="$ROOT/.cache/hl7-validator"
PACKAGES="$CACHE/home/.fhir/packages"

for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "hl7-validator: $tool is required (Java 17 and Maven)" >&2; exit 1; }
done

if [[ ! -f "$CACHE/lib/.complete" ]]; then
  echo "hl7-validator: fetching the validator from Maven Central into $CACHE/lib"
  rm -rf "$CACHE/lib"
  mvn -q -B -Dstyle.color=never -s "$HERE/settings.xml" -f "$HERE/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$CACHE/lib" -Dmaven.repo.local="$CACHE/m2"
  touch "$CACHE/lib/.complete"
fi

if [[ ! -f "$PACKAGES/hl7.fhir.r4.core#4.0.1/package/package.json" ]]; then
  echo "hl7-validator: writing hl7.fhir.r4.core#4.0.1 from hapi-fhir-validation-resources-r4"
  java -cp "$CACHE/lib/*" "$HERE/BuildR4Core.java" "$PACKAGES"
fi

XVER="$PACKAGES/hl7.fhir.xver-extensions#0.1.0/package"
if [[ ! -f "$XVER/package.json" ]]; then
  mkdir -p "$XVER"
  echo '{"name":"hl7.fhir.xver-extensions","version":"0.1.0","type":"IG","fhirVersions":["4.0.1"],"dependencies":{}}' > "$XVER/package.json"
fi
