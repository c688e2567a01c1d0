// Writes the FHIR package hl7.fhir.r4.core#4.0.1 into a package cache folder from
// the genuine R4 definitions of ca.uhn.hapi.fhir:hapi-fhir-validation-resources-r4
// (XML Bundles on the classpath), so that the validator runs without
// packages.fhir.org. Run with the Java source launcher:
//   java -cp '<lib>/*' BuildR4Core.java <packages folder>
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.hl7.fhir.r4.formats.JsonParser;
import org.hl7.fhir.r4.formats.XmlParser;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;

public class BuildR4Core {
  private static final String[] BUNDLES = {
    "org/hl7/fhir/r4/model/profile/profiles-types.xml",
    "org/hl7/fhir/r4/model/profile/profiles-resources.xml",
    "org/hl7/fhir/r4/model/profile/profiles-others.xml",
    "org/hl7/fhir/r4/model/extension/extension-definitions.xml",
    "org/hl7/fhir/r4/model/valueset/valuesets.xml",
    "org/hl7/fhir/r4/model/valueset/v3-codesystems.xml",
    "org/hl7/fhir/r4/model/valueset/v2-tables.xml",
    "org/hl7/fhir/r4/model/sp/search-parameters.json",
  };

  public static void main(String[] args) throws Exception {
    Path content = Path.of(args[0], "hl7.fhir.r4.core#4.0.1", "package");
    Files.createDirectories(content);
    Set<String> written = new HashSet<>();
    JsonParser json = new JsonParser();
    for (String name : BUNDLES) {
      try (InputStream in = BuildR4Core.class.getClassLoader().getResourceAsStream(name)) {
        if (in == null) throw new IllegalStateException(name + " is not on the classpath");
        Bundle bundle = (Bundle) (name.endsWith(".json") ? new JsonParser().parse(in) : new XmlParser().parse(in));
        for (Bundle.BundleEntryComponent entry : bundle.getEntry()) {
          Resource resource = entry.getResource();
          if (resource == null || !resource.hasId()) continue;
          String file = resource.fhirType() + "-" + resource.getIdElement().getIdPart() + ".json";
          // The first Bundle wins: types and resources before terminology.
          if (!written.add(file)) continue;
          Files.write(content.resolve(file), json.composeBytes(resource));
        }
      }
    }
    String manifest = "{\n  \"name\": \"hl7.fhir.r4.core\",\n  \"version\": \"4.0.1\",\n  \"type\": \"Core\",\n"
        + "  \"fhirVersions\": [\"4.0.1\"],\n  \"canonical\": \"http://hl7.org/fhir\",\n  \"url\": \"http://hl7.org/fhir/R4\",\n"
        + "  \"description\": \"FHIR R4 core definitions from hapi-fhir-validation-resources-r4\",\n  \"dependencies\": {}\n}\n";
    Files.write(content.resolve("package.json"), manifest.getBytes(StandardCharsets.UTF_8));
    System.out.println("hl7.fhir.r4.core#4.0.1: " + written.size() + " resources in " + content);
  }
}
