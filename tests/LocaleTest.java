import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Streams and consumers are named in UTF-8 (Straße, 订单), and js-recover runs where no locale is set: in a
 * container, from cron, under systemd. Run as a process with such an environment, it reads, checks and rewrites
 * those names exactly, and keeps them in originals.zip as they are on disk.
 */
class LocaleTest {
  static final String STREAM = "Straße", CONSUMER = "订单";

  @TempDir Path tmp;

  /** The environment of a process started with {@code locale}: "unset" means no LANG, LC_ALL or LC_CTYPE at all. */
  static ProcessBuilder under(String locale, String... args) {
    ProcessBuilder pb = JsRecoverProcess.builder(args);
    Map<String, String> env = pb.environment();
    env.keySet().removeIf(k -> k.equals("LANG") || k.startsWith("LC_"));
    if (!locale.equals("unset")) env.put(locale.substring(0, locale.indexOf('=')), locale.substring(locale.indexOf('=') + 1));
    return pb;
  }

  StoreBuilder survivor() {
    return new StoreBuilder(tmp.resolve("lager-größe")) // the store's own path is not ASCII either
        .stream("$G", STREAM, 3).consumer("$G", STREAM, CONSUMER, 3).stream("$G", "ORDERS", 3).raft("$SYS");
  }

  @ParameterizedTest(name = "{displayName}: {0}")
  @ValueSource(strings = {"unset", "LANG=C", "LC_ALL=POSIX"})
  void nonAsciiNamesAreReadAndRewrittenExactlyUnderAnyLocale(String locale) throws Exception {
    StoreBuilder store = survivor();

    JsRecoverProcess.Result inspect = JsRecoverProcess.run(under(locale, "inspect", "--json", store.storeDir.toString()));
    assertEquals(0, inspect.exit(), inspect.output());
    assertTrue(inspect.output().contains("\"name\" : \"" + STREAM + "\""), inspect.output());
    assertTrue(inspect.output().contains("\"name\" : \"" + CONSUMER + "\""), inspect.output());
    assertTrue(inspect.output().contains("\"problems\" : [ ]"), "healthy streams reported broken:\n" + inspect.output());
    assertFalse(inspect.output().contains("\"sum_ok\" : false"), inspect.output());

    JsRecoverProcess.Result prepare = JsRecoverProcess.run(under(locale, "prepare", store.storeDir.toString()));
    assertEquals(0, prepare.exit(), prepare.output());
    Path streamDir = store.streamDir("$G", STREAM), consumerDir = store.consumerDir("$G", STREAM, CONSUMER);
    byte[] streamMeta = Files.readAllBytes(streamDir.resolve("meta.inf"));
    byte[] consumerMeta = Files.readAllBytes(consumerDir.resolve("meta.inf"));
    assertTrue(new String(streamMeta, StandardCharsets.UTF_8).contains("\"num_replicas\":1"));
    assertTrue(new String(consumerMeta, StandardCharsets.UTF_8).contains("\"num_replicas\":0"));
    // the server's key for meta.sum: sha256 of the name's UTF-8 bytes
    assertEquals(StoreBuilder.sum(STREAM, streamMeta), Files.readString(streamDir.resolve("meta.sum")));
    assertEquals(StoreBuilder.sum(STREAM + "/" + CONSUMER, consumerMeta), Files.readString(consumerDir.resolve("meta.sum")));

    Path run;
    try (var runs = Files.list(store.storeDir.resolve("js-recover-backup"))) {
      run = runs.findFirst().orElseThrow();
    }
    Map<String, byte[]> originals = StoreBuilder.zipEntries(Files.readAllBytes(run.resolve("originals.zip")));
    for (String entry : List.of("jetstream/$G/streams/" + STREAM + "/meta.inf",
        "jetstream/$G/streams/" + STREAM + "/obs/" + CONSUMER + "/meta.sum")) {
      assertTrue(originals.containsKey(entry), entry + " not in " + originals.keySet());
    }
    assertTrue(Files.readString(run.resolve("manifest.json")).contains("\"stream\" : \"" + STREAM + "\""));
  }

  @org.junit.jupiter.api.Test
  void theJbangWrapperCompilesAndRunsTheScriptWithoutALocale() throws Exception {
    StoreBuilder store = survivor();
    ProcessBuilder pb = new ProcessBuilder("./jbang", "js-recover", "inspect", store.storeDir.toString()).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.equals("LANG") || k.startsWith("LC_"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    assertTrue(out.matches("(?s).*\\$G +" + STREAM + " +3 .* ok( .*)?\n.*"), out);
  }
}
