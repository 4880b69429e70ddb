import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * meta.inf members as the real server's Go decoder reads them, on every server generation: a replica
 * count spelled in another case is the one the server keeps, so it is the one prepare must change.
 */
@ExtendWith(NatsServerInstalled.class)
@ParameterizedClass(name = "{0}")
@MethodSource("ServerGeneration#all")
class GoDecoderServerTest {
  @Parameter ServerGeneration generation;
  @TempDir Path tmp;

  /** ORDERS says "Num_Replicas":3; NULL_LAST 3, then null, which leaves Go's int at 3; LONG_S "num_replicaſ":3. */
  StoreBuilder survivorWithOddlySpelledReplicas() {
    String json = StoreBuilder.streamJson("ORDERS", 3, "limits", "").replace("\"num_replicas\"", "\"Num_Replicas\"");
    return new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", json).raft("$SYS")
        .stream("$G", "NULL_LAST", StoreBuilder.streamJson("NULL_LAST", 3, "limits", ",\"num_replicas\":null"))
        .stream("$G", "LONG_S", StoreBuilder.streamJson("LONG_S", 3, "limits", "").replace("\"num_replicas\"", "\"num_replica\u017f\""));
  }

  @Test
  void unpreparedTheServerReadsNumReplicasAsTheReplicaCount() throws Exception {
    StoreBuilder store = survivorWithOddlySpelledReplicas();
    generation.binary();
    // 2.10 and later never report healthy with a stream they could not recover: wait for the refusal itself
    try (NatsServerProcess server = NatsServerProcess.start(generation, "recovery", NatsConfig.defaults(), store.storeDir, "", tmp.resolve("server"))) {
      Await.until(java.time.Duration.ofSeconds(30), "the server to load or refuse ORDERS",
          () -> server.log().contains("Error recreating stream \"ORDERS\": replicas > 1 not supported in non-clustered mode")
              && server.log().contains("Error recreating stream \"NULL_LAST\": replicas > 1 not supported")
              && server.log().contains("Error recreating stream \"LONG_S\": replicas > 1 not supported") ? null : server.log());
    }
  }

  /** What the server logs for a meta.inf (with a matching meta.sum) that prepare refuses, or null when it loads it. */
  String serverVerdict(byte[] metaInf) throws Exception {
    Path store = tmp.resolve("store-" + System.nanoTime());
    Path dir = new StoreBuilder(store).streamDir("$G", "ORDERS");
    StoreBuilder.write(dir.resolve("meta.inf"), metaInf);
    StoreBuilder.write(dir.resolve("meta.sum"), StoreBuilder.sum("ORDERS", metaInf).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    assertEquals(1, Cli.run("prepare", store.toString()).exit(), "prepare refuses it");
    try (NatsServerProcess server = NatsServerProcess.start(generation, "recovery", NatsConfig.defaults(), store, "", store.resolveSibling(store.getFileName() + "-server"))) {
      String[] verdict = new String[1];
      Await.until(java.time.Duration.ofSeconds(30), "the server to load or refuse ORDERS", () -> {
        String log = server.log();
        if (log.contains("Restored ")) return null;
        int at = log.indexOf("Error unmarshalling stream metafile");
        if (at < 0) return log;
        verdict[0] = log.substring(at, log.indexOf('\n', at));
        return null;
      });
      return verdict[0];
    }
  }

  @Test
  void whatPrepareRefusesAsUndecodableTheServerRefusesToo() throws Exception {
    generation.binary();
    String json = StoreBuilder.streamJson("ORDERS", 1, "limits", "");
    byte[] bom = ("\ufeff" + json).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(String.valueOf(serverVerdict(bom)).contains("looking for beginning of value"));
    byte[] float1 = json.replace("\"num_replicas\":1", "\"num_replicas\":1.0").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(String.valueOf(serverVerdict(float1)).contains("cannot unmarshal number 1.0"));
    byte[] placement = StoreBuilder.streamJson("ORDERS", 1, "limits", ",\"Placement\":\"C1\"").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(String.valueOf(serverVerdict(placement)).contains("cannot unmarshal string"));
    String trailing = serverVerdict((json + "{}").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    if (generation.name().equals("2.15")) {
      assertEquals(null, trailing, "2.11.9 and later decode only the first value and ignore the rest");
    } else {
      assertTrue(String.valueOf(trailing).contains("after top-level value"), trailing);
    }
  }

  @Test
  void invalidUtf8InAStringIsReadAsTheServerReadsIt() throws Exception {
    generation.binary();
    byte[] json = StoreBuilder.streamJson("LATIN1", 3, "limits", ",\"description\":\"caf\u00e9\"")
        .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1); // é as one byte: not UTF-8, which Go reads as U+FFFD
    StoreBuilder store = new StoreBuilder(tmp.resolve("store"));
    Path dir = store.streamDir("$G", "LATIN1");
    StoreBuilder.write(dir.resolve("meta.inf"), json);
    StoreBuilder.write(dir.resolve("meta.sum"), StoreBuilder.sum("LATIN1", json).getBytes(java.nio.charset.StandardCharsets.US_ASCII));

    Cli.Result r = Cli.run("prepare", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    assertEquals(new String(json, java.nio.charset.StandardCharsets.ISO_8859_1).replace("\"num_replicas\":3", "\"num_replicas\":1"),
        new String(java.nio.file.Files.readAllBytes(dir.resolve("meta.inf")), java.nio.charset.StandardCharsets.ISO_8859_1),
        "every other byte kept, the lone é byte included");
    try (NatsServerProcess server = NatsServerProcess.standalone(generation, NatsConfig.defaults(), store.storeDir, tmp.resolve("server"))) {
      assertEquals(List.of(), server.loadErrors(), server.log());
      EncryptedStoreTest.streamDetail(server.jsz(), "$G", "LATIN1");
    }
  }

  @Test
  void preparedTheStreamLoads() throws Exception {
    StoreBuilder store = survivorWithOddlySpelledReplicas();
    generation.binary();
    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());
    try (NatsServerProcess server = NatsServerProcess.standalone(generation, NatsConfig.defaults(), store.storeDir, tmp.resolve("server"))) {
      assertEquals(List.of(), server.loadErrors(), server.log());
      EncryptedStoreTest.streamDetail(server.jsz(), "$G", "ORDERS");
      EncryptedStoreTest.streamDetail(server.jsz(), "$G", "NULL_LAST");
      EncryptedStoreTest.streamDetail(server.jsz(), "$G", "LONG_S");
    }
  }
}
