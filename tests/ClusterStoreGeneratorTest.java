import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark's synthetic clustered store reads as a survivor's does, and its I/O floor leaves it as it was. */
class ClusterStoreGeneratorTest {
  @TempDir Path tmp;

  @Test
  void theGeneratedStoreIsAClusteredSurvivorThatPrepareMakesStandalone() throws Exception {
    StoreBuilder store = ClusterStoreGenerator.generate(tmp.resolve("store"), 6, 2);

    Cli.Result inspect = Cli.run("inspect", "--json", store.storeDir.toString());
    assertEquals(0, inspect.exit(), inspect.err());
    JsonNode report = Json.MAPPER.readTree(inspect.out());
    assertEquals(6, report.path("streams").size(), inspect.out());
    assertEquals(0, report.path("problems").size(), "every meta.sum matches its meta.inf: " + report.path("problems"));
    int consumers = 0;
    for (JsonNode s : report.path("streams")) {
      assertEquals(3, s.path("replicas").asInt(), s.toString());
      assertEquals(3, s.path("messages").asInt(), "its block reads whole: " + s);
      assertEquals(0, s.path("damaged").size(), s.toString());
      consumers += s.path("consumers").size();
      for (JsonNode c : s.path("consumers")) {
        assertTrue(c.path("state_note").isNull(), "its o.dat decodes: " + c);
        assertEquals(1, c.path("pending").asInt(), c.toString());
      }
    }
    assertEquals(12, consumers);
    JsonNode cluster = report.path("cluster");
    assertEquals("snap.1.5", cluster.path("meta").path("snapshot").asText(), "the meta snapshot reads whole: " + cluster.path("meta"));
    assertEquals(6 + 12, cluster.path("assets").size(), "the inventory assigns every stream and consumer");
    for (JsonNode a : cluster.path("assets")) {
      assertTrue(a.path("on_this_disk").asBoolean(), "found on this disk: " + a);
      assertEquals(ClusterStoreGenerator.PEERS.size(), a.path("peers").size(), a.toString());
    }
    try (Stream<Path> groups = Files.list(store.jetstream().resolve("$SYS").resolve("_js_"))) {
      assertEquals(1 + 6 + 12, groups.count(), "the meta group and one Raft group per stream and per consumer");
    }
    String placed = Files.readString(store.streamDir("$G", ClusterStoreGenerator.streamName(0)).resolve("meta.inf"));
    assertTrue(placed.contains("\"placement\":{\"cluster\":\"C1\""), placed);

    Cli.Result prepare = Cli.run("prepare", store.storeDir.toString());
    assertEquals(0, prepare.exit(), prepare.all());
    assertFalse(Files.exists(store.jetstream().resolve("$SYS").resolve("_js_")));
    String consumer = Files.readString(store.consumerDir("$G", ClusterStoreGenerator.streamName(5), "C0").resolve("meta.inf"));
    assertTrue(consumer.contains("\"num_replicas\":0"), consumer);
  }

  @Test
  void theIoFloorRewritesEveryMetaFileAndLeavesTheStoreAsItWas() {
    StoreBuilder store = ClusterStoreGenerator.generate(tmp.resolve("store"), 5, 2);
    String before = StoreBuilder.treeDigest(store.storeDir);

    IoFloor.Result floor = IoFloor.run(store.jetstream(), 4);

    assertEquals(ClusterStoreGenerator.metaFiles(5, 2), floor.filesRead());
    assertEquals(ClusterStoreGenerator.metaFiles(5, 2), floor.filesWritten());
    assertTrue(floor.seconds() > 0);
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir), "same paths, same bytes, no temp file left");
  }
}
