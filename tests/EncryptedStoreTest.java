import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nats.client.support.JsonValue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stores of clusters that ran with jetstream { key, cipher }: real stream folders written by
 * nats-server 2.9.10 (tests/fixtures/encrypted-2.9.10, one per cipher), turned into what a 3-node
 * cluster leaves (R3 stream placed on C1, R3 consumer), prepared with the key, and loaded by a real
 * standalone server started with the same key.
 */
@ExtendWith(NatsServerInstalled.class)
class EncryptedStoreTest {
  static final Path FIXTURES = Path.of("tests/fixtures/encrypted-2.9.10");

  /** One captured stream folder: where it is, the key and account it was written with. */
  record Fixture(String folder, String stream, String consumer, String account, String key, String cipher) {}

  static final Fixture CHACHA = new Fixture("chacha/ORD-1", "ORD-1", "C1", "$G", "s3cr3t key ü", "chacha");
  static final Fixture AES = new Fixture("aes/S1", "S1", "C1", "ACME", "aes key", "aes");

  @TempDir Path tmp;

  /** The fixture's stream as a survivor of a 3-node cluster holds it: R3, placed, with an R3 consumer. */
  StoreBuilder survivor(Fixture f) throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store"));
    Path streamDir = store.streamDir(f.account(), f.stream());
    StoreBuilder.copyTree(FIXTURES.resolve(f.folder()), streamDir);
    reseal(f, streamDir, f.stream(), f.stream(), cfg -> {
      cfg.put("num_replicas", 3);
      cfg.putObject("placement").put("cluster", "C1");
    });
    reseal(f, streamDir.resolve("obs").resolve(f.consumer()), f.stream() + "." + f.consumer(), f.stream() + "/" + f.consumer(),
        cfg -> cfg.put("num_replicas", 3));
    store.raft("$SYS");
    return store;
  }

  @Test
  void chachaStoreRecoversWithItsMessagesAndConsumer() throws Exception {
    recoversAndLoads(CHACHA);
  }

  @Test
  void aesStoreInANamedAccountRecoversWithItsMessagesAndConsumer() throws Exception {
    recoversAndLoads(AES);
  }

  void recoversAndLoads(Fixture f) throws Exception {
    StoreBuilder store = survivor(f);
    Path streamDir = store.streamDir(f.account(), f.stream());
    byte[] streamKey = Files.readAllBytes(streamDir.resolve("meta.key"));
    byte[] consumerKey = Files.readAllBytes(streamDir.resolve("obs").resolve(f.consumer()).resolve("meta.key"));
    Path keyFile = Files.writeString(tmp.resolve("js.key"), f.key() + "\n");

    Cli.Result r = Cli.run("prepare", "--key-file", keyFile.toString(), store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains(f.account() + " > " + f.stream() + ": num_replicas 3 -> 1, placement {\"cluster\":\"C1\"} removed (resealed)"), r.out());
    assertTrue(r.out().contains(f.account() + " > " + f.stream() + " > " + f.consumer() + ": num_replicas 3 -> 0 (resealed)"), r.out());
    assertArrayEquals(streamKey, Files.readAllBytes(streamDir.resolve("meta.key")), "meta.key stays as it is");
    assertArrayEquals(consumerKey, Files.readAllBytes(streamDir.resolve("obs").resolve(f.consumer()).resolve("meta.key")));
    JsonNode stream = open(f, streamDir, f.stream());
    assertEquals(1, stream.get("num_replicas").asInt());
    assertNull(stream.get("placement"));
    assertEquals(0, open(f, streamDir.resolve("obs").resolve(f.consumer()), f.stream() + "." + f.consumer()).get("num_replicas").asInt());
    Map<String, byte[]> originals = StoreBuilder.zipEntries(Files.readAllBytes(PrepareTest.onlyRun(store).resolve("originals.zip")));
    assertArrayEquals(streamKey, originals.get("jetstream/" + f.account() + "/streams/" + f.stream() + "/meta.key"),
        "every meta.key is kept: nats-server 2.9.10 deletes it when it loads the stream");

    NatsConfig config = NatsConfig.defaults().withEncryption(f.key(), f.cipher());
    if (!f.account().equals("$G")) config = config.withAccount(f.account(), "recover", "recover-pw");
    try (NatsServerProcess server = NatsServerProcess.standalone(ServerGeneration.installed(), config, store.storeDir, tmp.resolve("server"))) {
      JsonValue loaded = streamDetail(server.jsz(), f.account(), f.stream());
      assertEquals(3, loaded.map.get("state").map.get("messages").i, "the stream's 3 messages are served");
      assertEquals(f.consumer(), loaded.map.get("consumer_detail").array.get(0).map.get("name").string);
      assertEquals(List.of(), server.loadErrors(), "the server logged load errors");
    }
  }

  @Test
  void aWrongKeyIsRefusedNamingEveryAssetItDoesNotOpenAndNothingChanges() throws Exception {
    StoreBuilder store = survivor(CHACHA);
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("prepare", "--key", "not the key", store.storeDir.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.all().contains("the key does not open stream $G > ORD-1"), r.all());
    assertTrue(r.all().contains("the key does not open consumer $G > ORD-1 > C1"), r.all());
    assertTrue(r.all().contains("opens with neither chacha nor aes"), r.all());
    assertTrue(r.all().contains("check that the key is the one the cluster ran with"), r.all());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @Test
  void aKeyThatOpensSomeAssetsButNotOthersIsRefused() throws Exception {
    StoreBuilder store = survivor(CHACHA);
    Path other = store.streamDir("ACME", "S1"); // written by a cluster with another key
    StoreBuilder.copyTree(FIXTURES.resolve(AES.folder()), other);
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("prepare", "--key", CHACHA.key(), store.storeDir.toString());

    assertEquals(1, r.exit(), r.all());
    assertTrue(r.all().contains("the key does not open stream ACME > S1"), r.all());
    assertTrue(r.all().contains("the key does not open consumer ACME > S1 > C1"), r.all());
    assertFalse(r.all().contains("does not open stream $G > ORD-1"), r.all());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @Test
  void aForcedCipherOtherThanTheStoresIsRefused() throws Exception {
    StoreBuilder store = survivor(CHACHA);
    Cli.Result r = Cli.run("prepare", "--key", CHACHA.key(), "--cipher", "aes", store.storeDir.toString());
    assertEquals(1, r.exit(), r.all());
    assertTrue(r.all().contains("it opens only with chacha, not with the forced cipher aes"), r.all());
  }

  @Test
  void inspectWithTheKeyShowsConfigsAndWithoutItListsWhatIsSealed() throws Exception {
    StoreBuilder store = survivor(AES).stream("ACME", "PLAIN", 3); // a store mixing sealed and plain assets

    Cli.Result withKey = Cli.run("inspect", "--json", "--key", AES.key(), store.storeDir.toString());
    Cli.Result without = Cli.run("inspect", "--json", store.storeDir.toString());

    assertEquals(0, withKey.exit(), withKey.all());
    JsonNode s1 = Json.MAPPER.readTree(withKey.out()).get("streams").get(1);
    assertEquals("S1", s1.get("name").asText());
    assertEquals(3, s1.get("replicas").asInt());
    assertEquals("aes", s1.get("cipher").asText());
    assertEquals("C1", s1.get("placement").get("cluster").asText());
    assertEquals(0, without.exit(), without.all());
    JsonNode doc = Json.MAPPER.readTree(without.out());
    assertTrue(doc.get("streams").get(1).get("replicas").isNull(), "unknown without the key");
    assertTrue(doc.get("streams").get(1).get("encrypted").asBoolean());
    assertEquals(3, doc.get("streams").get(0).get("replicas").asInt(), "the plain stream is still reported");
    assertTrue(doc.get("problems").toString().contains("stream ACME > S1 is encrypted (meta.key present)"), without.out());
  }

  @Test
  void theKeyIsNeverPrintedNorWrittenAndTheEnvironmentVariableWorks() throws Exception {
    StoreBuilder store = survivor(CHACHA);
    ProcessBuilder pb = JsRecoverProcess.builder("prepare", store.storeDir.toString());
    pb.environment().put("JS_RECOVER_KEY", CHACHA.key());

    JsRecoverProcess.Result r = JsRecoverProcess.run(pb);

    assertEquals(0, r.exit(), r.output());
    assertFalse(r.output().contains(CHACHA.key()), "the key was printed");
    byte[] key = CHACHA.key().getBytes(StandardCharsets.UTF_8);
    StoreBuilder.files(store.storeDir).forEach((path, bytes) ->
        assertFalse(indexOf(bytes, key) >= 0, "the key was written into " + path));
  }

  @Test
  void thePrintedExportLineStartsTheRecoveryServerAndServesJsRecoverToo() throws Exception {
    StoreBuilder store = survivor(CHACHA); // a key with a space and a non-ASCII letter
    Path keyFile = Files.writeString(tmp.resolve("js.key"), CHACHA.key() + "\n");
    Cli.Result prepared = Cli.run("prepare", "--key-file", keyFile.toString(), store.storeDir.toString());
    assertEquals(0, prepared.exit(), prepared.all());
    assertTrue(prepared.out().contains(KeyRing.EXPORT_LINE), prepared.out());
    String export = KeyRing.EXPORT_LINE.replace("/path/to/key-file", keyFile.toString());

    // What the operator pastes: the export line, then js-recover and nats-server both read the variable.
    ProcessBuilder inspect = new ProcessBuilder("bash", "-c", export + "; exec \"$0\" -cp \"$1\" JsRecover inspect --json \"$2\"",
        JsRecoverProcess.javaBin(), System.getProperty("java.class.path"), store.storeDir.toString()).redirectErrorStream(true);
    JsRecoverProcess.Result inspected = JsRecoverProcess.run(inspect);
    assertEquals(0, inspected.exit(), inspected.output());
    assertEquals("chacha", Json.MAPPER.readTree(inspected.output()).get("streams").get(0).get("cipher").asText(), inspected.output());

    RecoveryConfig.Settings conf = RecoveryConfig.read(store.storeDir.resolve("recovery.conf"));
    try (HandStartedServer server = HandStartedServer.start(tmp.resolve("server.log"), conf.httpPort(),
        java.time.Duration.ofSeconds(30), "bash", "-c", export + "; exec \"$0\" -c \"$1\"",
        ServerGeneration.installed().binary().toString(), store.storeDir.resolve("recovery.conf").toString())) {
      String jsz = server.get("/jsz?streams=true");
      assertTrue(jsz.contains("\"messages\": 3"), "ORD-1's 3 messages are served: " + jsz);
      assertEquals(List.of(), server.loadErrors());
    }
  }

  @Test
  void keyOptionMistakes() throws Exception {
    StoreBuilder store = survivor(CHACHA);
    Cli.Result both = Cli.run("inspect", "--key", "k", "--key-file", "f", store.storeDir.toString());
    assertEquals(2, both.exit());
    assertTrue(both.err().contains("give the key once: --key-file or --key, not both"), both.err());
    Cli.Result missing = Cli.run("inspect", "--key-file", tmp.resolve("nope").toString(), store.storeDir.toString());
    assertEquals(1, missing.exit());
    assertTrue(missing.err().contains("key file " + tmp.resolve("nope") + " does not exist"), missing.err());
    Cli.Result badCipher = Cli.run("inspect", "--key", "k", "--cipher", "rot13", store.storeDir.toString());
    assertEquals(2, badCipher.exit());
    assertTrue(badCipher.err().contains("'rot13' is not a JetStream cipher: use chacha or aes"), badCipher.err());
  }

  // --- helpers: what a cluster with this key would have written --------------------------------

  interface Edit {
    void apply(ObjectNode cfg);
  }

  /** Rewrites a sealed meta.inf as the server would have written it, under its own meta.key. */
  static void reseal(Fixture f, Path dir, String context, String sumKey, Edit edit) throws Exception {
    MetaCrypto.Opened o = MetaCrypto.openMeta(f.key().getBytes(StandardCharsets.UTF_8), f.account(), context,
        Files.readAllBytes(dir.resolve("meta.key")), Files.readAllBytes(dir.resolve("meta.inf")), null);
    ObjectNode cfg = (ObjectNode) Json.MAPPER.readTree(o.plaintext());
    edit.apply(cfg);
    byte[] sealed = MetaCrypto.resealMeta(o, new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(cfg));
    Files.write(dir.resolve("meta.inf"), sealed);
    Files.writeString(dir.resolve("meta.sum"), StoreBuilder.sum(sumKey, sealed));
  }

  static JsonNode open(Fixture f, Path dir, String context) throws Exception {
    return Json.MAPPER.readTree(MetaCrypto.openMeta(f.key().getBytes(StandardCharsets.UTF_8), f.account(), context,
        Files.readAllBytes(dir.resolve("meta.key")), Files.readAllBytes(dir.resolve("meta.inf")), null).plaintext());
  }

  static JsonValue streamDetail(JsonValue jsz, String account, String stream) {
    for (JsonValue a : jsz.map.get("account_details").array) {
      if (!a.map.get("name").string.equals(account)) continue;
      for (JsonValue s : a.map.get("stream_detail").array) if (s.map.get("name").string.equals(stream)) return s;
    }
    throw new AssertionError("stream " + account + " > " + stream + " not loaded: " + jsz.toJson());
  }

  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
      return i;
    }
    return -1;
  }
}
