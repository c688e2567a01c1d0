// Runs the HL7 FHIR validator (org.hl7.fhir.validation's ValidationEngine; the
// artifact on Maven Central has no command-line main class) over many files in
// one JVM, for FHIR R4 (4.0.1), with no terminology server, with the given
// folders loaded as implementation guide content, and with references of the
// form Type/id resolved from the resources in the -context folder (as a server
// holding them would). Example URLs are allowed: the project's canonical base
// is on example.org. Prints one JSON line per file:
// {"file": <path>, "outcome": <OperationOutcome>}.
//   java -Duser.home=<home with .fhir/packages> -cp '<lib>/*' ValidateAll.java \
//        -ig <folder> [-ig <folder>...] [-context <folder>] <file>...
import java.io.ByteArrayInputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.hl7.fhir.r5.context.IWorkerContext;
import org.hl7.fhir.r5.elementmodel.Element;
import org.hl7.fhir.r5.elementmodel.Manager;
import org.hl7.fhir.r5.model.CanonicalResource;
import org.hl7.fhir.r5.model.CanonicalType;
import org.hl7.fhir.r5.utils.validation.IResourceValidator;
import org.hl7.fhir.r5.utils.validation.IValidatorResourceFetcher;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.hl7.fhir.r5.elementmodel.Manager.FhirFormat;
import org.hl7.fhir.r5.formats.JsonParser;
import org.hl7.fhir.r5.model.OperationOutcome;
import com.google.gson.JsonPrimitive;
import org.hl7.fhir.validation.ValidationEngine;

public class ValidateAll {
  public static void main(String[] args) throws Exception {
    List<String> igs = new ArrayList<>();
    List<String> files = new ArrayList<>();
    String context = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("-ig")) igs.add(args[++i]);
      else if (args[i].equals("-context")) context = args[++i];
      else files.add(args[i]);
    }
    // The validator logs to stdout: keep stdout for the results alone.
    PrintStream out = new PrintStream(new FileOutputStreamWrapper(), true, StandardCharsets.UTF_8);
    System.setOut(System.err);
    ValidationEngine engine = new ValidationEngine.ValidationEngineBuilder()
        .withVersion("4.0.1")
        .withNoTerminologyServer()
        .withCanRunWithoutTerminologyServer(true)
        .fromSource("hl7.fhir.r4.core#4.0.1");
    for (String ig : igs) engine.getIgLoader().loadIg(engine.getIgs(), engine.getBinaries(), ig, false);
    engine.setAllowExampleUrls(true);
    if (context != null) engine.setFetcher(new ContextFetcher(engine.getContext(), Path.of(context)));
    engine.prepare();
    JsonParser json = new JsonParser();
    for (String file : files) {
      String result;
      try (InputStream in = new FileInputStream(file)) {
        OperationOutcome outcome = engine.validate(FhirFormat.JSON, in, Collections.emptyList());
        result = json.composeString(outcome);
      } catch (Exception e) {
        result = "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"fatal\",\"code\":\"exception\",\"diagnostics\":"
            + new JsonPrimitive(String.valueOf(e.getMessage())).toString() + "}]}";
      }
      out.println("{\"file\":" + new JsonPrimitive(file).toString() + ",\"outcome\":" + result + "}");
    }
  }

  /**
   * Resolves Type/id from the resources of a folder, and nothing else: canonical
   * resources come from the loaded packages and folders, and the engine itself
   * hands fetches back to its fetcher, so it cannot be asked in turn.
   */
  static class ContextFetcher implements IValidatorResourceFetcher {
    private static final Pattern TYPED = Pattern.compile("([A-Z][A-Za-z]+/[A-Za-z0-9\\-.]{1,64})$");
    private final IWorkerContext worker;
    private final Map<String, byte[]> resources = new HashMap<>();

    ContextFetcher(IWorkerContext worker, Path folder) throws IOException {
      this.worker = worker;
      try (var list = Files.list(folder)) {
        for (Path file : (Iterable<Path>) list.filter((f) -> f.toString().endsWith(".json"))::iterator) {
          byte[] bytes = Files.readAllBytes(file);
          var json = com.google.gson.JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8)).getAsJsonObject();
          resources.put(json.get("resourceType").getAsString() + "/" + json.get("id").getAsString(), bytes);
        }
      }
    }

    private byte[] find(String url) {
      Matcher m = TYPED.matcher(url == null ? "" : url);
      return m.find() ? resources.get(m.group(1)) : null;
    }

    public Element fetch(IResourceValidator validator, Object appContext, String url) throws IOException {
      byte[] found = find(url);
      if (found == null) return null;
      return Manager.parseSingle(worker, new ByteArrayInputStream(found), FhirFormat.JSON);
    }

    public boolean resolveURL(IResourceValidator validator, Object appContext, String path, String url, String type, boolean canonical, List<CanonicalType> targets) throws IOException {
      return find(url) != null;
    }

    public byte[] fetchRaw(IResourceValidator validator, String url) throws IOException {
      return find(url);
    }

    public IValidatorResourceFetcher setLocale(Locale locale) {
      return this;
    }

    public CanonicalResource fetchCanonicalResource(IResourceValidator validator, Object appContext, String url) throws java.net.URISyntaxException {
      return null;
    }

    public boolean fetchesCanonicalResource(IResourceValidator validator, String url) {
      return false;
    }

    public Set<ResourceVersionInformation> fetchCanonicalResourceVersions(IResourceValidator validator, Object appContext, String url) {
      return Set.of();
    }
  }

  /** The process's real standard output, before System.out is pointed at stderr. */
  static class FileOutputStreamWrapper extends java.io.FileOutputStream {
    FileOutputStreamWrapper() {
      super(java.io.FileDescriptor.out);
    }
  }
}
