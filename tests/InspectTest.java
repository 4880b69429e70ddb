import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** inspect tells the operator what each odd thing in a store means for the recovery, and writes nothing. */
class InspectTest {
  @TempDir Path tmp;

  @Test
  void warningsAnOperatorNeedsBeforePreparing() throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store"))
        .stream("$G", "INTEREST", StoreBuilder.streamJson("INTEREST", 3, "interest", ""))
        .stream("$G", "WORK", StoreBuilder.streamJson("WORK", 3, "workqueue", ""))
        .stream("$G", "ARCHIVE", StoreBuilder.streamJson("ARCHIVE", 3, "limits", ",\"sealed\":true"))
        .stream("$G", "EDGE", StoreBuilder.streamJson("EDGE", 3, "limits",
            ",\"mirror\":{\"name\":\"ORDERS\",\"external\":{\"api\":\"$JS.hub.API\",\"deliver\":\"\"}}"))
        .stream("$G", "AGG", StoreBuilder.streamJson("AGG", 3, "limits",
            ",\"sources\":[{\"name\":\"A\"},{\"name\":\"B\",\"external\":{\"api\":\"$JS.leaf.API\"}}]"))
        .stream("$G", ".DELETED", 3);
    Files.writeString(store.jetstream().resolve("notes.txt"), "stray");
    Files.createDirectories(store.jetstream().resolve("$G/templates"));
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("inspect", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    String out = r.out();
    assertTrue(out.contains("jetstream/$G/streams/INTEREST: interest retention: at start the server removes messages"), out);
    assertTrue(out.contains("jetstream/$G/streams/WORK: work-queue retention"), out);
    assertTrue(out.contains("jetstream/$G/streams/ARCHIVE: sealed stream"), out);
    assertTrue(out.contains("jetstream/$G/streams/EDGE: mirror of ORDERS through external API $JS.hub.API"), out);
    assertTrue(out.contains("jetstream/$G/streams/AGG: source B through external API $JS.leaf.API"), out);
    assertTrue(out.contains("jetstream/$G/streams/.DELETED: a stream the server was deleting"), out);
    assertTrue(out.contains("jetstream/notes.txt: a stray file where a folder was expected; left as is"), out);
    assertTrue(out.contains("jetstream/$G/templates: not a JetStream folder js-recover knows; left as is"), out);
    assertTrue(out.contains("5 stream(s)"), "the stream being deleted is not counted:\n" + out);
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @Test
  void jsonReportsChecksumsAndProblemsPerAsset() throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "S", 3).consumer("$G", "S", "GOOD", 3)
        .consumer("$G", "S", "BAD", 0).raft("$SYS");
    Files.writeString(store.consumerDir("$G", "S", "BAD").resolve("meta.sum"), "ffffffffffffffff");

    Cli.Result r = Cli.run("inspect", "--json", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    JsonNode doc = Json.MAPPER.readTree(r.out());
    JsonNode consumers = doc.get("streams").get(0).get("consumers");
    assertEquals("BAD", consumers.get(0).get("name").asText());
    assertEquals(false, consumers.get(0).get("sum_ok").asBoolean());
    assertEquals(true, consumers.get(1).get("sum_ok").asBoolean());
    assertEquals(3, consumers.get(1).get("replicas").asInt());
    assertEquals("jetstream/$G/streams/S/obs/BAD/meta.sum", doc.get("problems").get(0).get("path").asText());
    assertTrue(doc.get("problems").get(0).get("with_force").asText().startsWith("meta.sum recomputed"));
    Cli.Result table = Cli.run("inspect", store.storeDir.toString());
    assertTrue(table.out().matches("(?s).*\\$G +S +3 +- +limits +file +2 +1 +no +ok, 1 consumer\\(s\\) bad.*"), table.out());
  }

  @Test
  void whatTheFirstStartRemovesIsCountedFromTheMessagesNotSubtracted() throws Exception {
    long now = System.currentTimeMillis() * 1_000_000L, hour = 3_600_000_000_000L;
    StoreBuilder store = new StoreBuilder(tmp.resolve("store"))
        .stream("$G", "OLD", StoreBuilder.streamJson("OLD", 3, "limits", "").replace("\"max_age\":0", "\"max_age\":" + hour))
        .stream("$G", "CAPPED", StoreBuilder.streamJson("CAPPED", 3, "limits", "").replace("\"max_msgs\":-1", "\"max_msgs\":2"));
    Files.write(store.streamDir("$G", "OLD").resolve("msgs/1.blk"),
        StoreBuilder.messageBlock("OLD", 1, 1, now - 3 * hour, now - 2 * hour, now - 2 * hour, now, now));
    Files.write(store.streamDir("$G", "CAPPED").resolve("msgs/1.blk"), StoreBuilder.messageBlock("CAPPED", 1, 1, now, now, now, now, now));
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("inspect", store.storeDir.toString());
    JsonNode doc = Json.MAPPER.readTree(Cli.run("inspect", "--json", store.storeDir.toString()).out());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("jetstream/$G/streams/OLD: the first server start removes 3 message(s) already older than max_age"), r.out());
    assertTrue(r.out().contains("jetstream/$G/streams/CAPPED: the first server start removes 3 message(s) over max_msgs"), r.out());
    JsonNode old = doc.get("streams").get(1);
    assertEquals("OLD", old.get("name").asText());
    assertEquals(5, old.get("messages").asLong(), "on disk, before the start");
    assertEquals(3, old.get("removed_at_start").get("max_age").asLong());
    assertEquals(3, doc.get("streams").get(0).get("removed_at_start").get("max_msgs").asLong());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir));
  }

  @Test
  void aLinkedJetstreamFolderIsRefused() throws Exception {
    StoreBuilder real = new StoreBuilder(tmp.resolve("real")).stream("$G", "S", 3);
    Path store = Files.createDirectories(tmp.resolve("store"));
    Files.createSymbolicLink(store.resolve("jetstream"), real.jetstream());

    Cli.Result r = Cli.run("inspect", store.toString());

    assertEquals(1, r.exit());
    assertTrue(r.err().contains(store.resolve("jetstream") + " is a symbolic link (to " + real.jetstream() + ")"), r.err());
    assertTrue(r.err().contains("js-recover does not follow links out of the store"), r.err());
  }

  @Test
  void theTablesStayAlignedWhenCellsAreWiderThanTheirTitlesOrHoldColonsDigitsAndAccents() throws Exception {
    String wide = "a_stream_name_much_wider_than_its_title", odd = "12:é:3", consumer = "7:ça:va_and_wider_than_CONSUMER";
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", wide, 3).stream("$G", odd, 1)
        .consumer("$G", odd, consumer, 3).consumer("$G", odd, "1", 0);

    Cli.Result r = Cli.run("inspect", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    List<String> lines = r.out().lines().toList();
    assertColumns(lines, "ACCOUNT", List.of(List.of("$G", odd, "1"), List.of("$G", wide, "3")));
    assertColumns(lines, "ACCOUNT  STREAM  CONSUMER", List.of(List.of("$G", odd, "1"), List.of("$G", odd, consumer)));
  }

  @Test
  void aStoreWithoutConsumersOrClusterRecordsGivesNeitherTable() throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "S", 3);

    Cli.Result table = Cli.run("inspect", store.storeDir.toString());
    Cli.Result json = Cli.run("inspect", "--json", store.storeDir.toString());

    assertEquals(0, table.exit(), table.all());
    assertTrue(table.out().contains("0 consumer(s)\n\nACCOUNT  STREAM  REPLICAS  PLACEMENT  RETENTION  STORAGE  CONSUMERS  "
        + "CONS. R>1  ENCRYPTED  CHECKSUMS  MSGS  FIRST..LAST  DAMAGED\n$G       S       3         -          limits     file     "
        + "0          0          no         ok         0     0..0         1 place(s)\n\nContents:\n"), table.out());
    assertFalse(table.out().contains("Consumers (from o.dat)"), table.out());
    assertFalse(table.out().contains("Cluster records"), table.out());
    assertEquals(0, json.exit(), json.all());
    JsonNode doc = Json.MAPPER.readTree(json.out());
    assertEquals(0, doc.get("streams").get(0).get("consumers").size());
    assertTrue(doc.get("cluster").isNull(), json.out());
  }

  @Test
  void theJsonIsWrittenAsTheMapperPrettyPrintsIt() throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "S", 3).consumer("$G", "S", "C", 3)
        .stream("$G", "T", 1).raft("$SYS");
    Files.writeString(store.streamDir("$G", "T").resolve("meta.sum"), "ffffffffffffffff");
    StoreBuilder.copyTree(store.storeDir, tmp.resolve("copy"));

    for (Cli.Result r : List.of(Cli.run("inspect", "--json", store.storeDir.toString()),
        Cli.run("inspect", "--json", store.storeDir.toString(), tmp.resolve("copy").toString()))) {
      assertEquals(0, r.exit(), r.all());
      assertEquals(Json.MAPPER.writeValueAsString(Json.MAPPER.readTree(r.out())) + System.lineSeparator(), r.out());
    }
  }

  /**
   * Asserts that under the table whose title line starts with {@code titles}, each row holds its first cells where
   * the titles start, in the order given.
   */
  private static void assertColumns(List<String> lines, String titles, List<List<String>> rows) {
    int header = -1;
    for (int k = 0; k < lines.size() && header < 0; k++) if (lines.get(k).startsWith(titles)) header = k;
    assertTrue(header >= 0, titles + " not found in\n" + String.join("\n", lines));
    String title = lines.get(header);
    List<Integer> starts = new ArrayList<>(List.of(0));
    for (int at = title.indexOf("  "); at >= 0; at = title.indexOf("  ", at)) {
      while (title.charAt(at) == ' ') at++;
      starts.add(at);
    }
    for (int k = 0; k < rows.size(); k++) {
      String line = lines.get(header + 1 + k);
      List<String> cells = rows.get(k);
      for (int i = 0; i < cells.size(); i++) {
        int start = starts.get(i);
        assertTrue(line.startsWith(cells.get(i) + " ", start) && (start == 0 || line.startsWith("  ", start - 2)),
            "cell " + cells.get(i) + " not at column " + start + " under\n" + title + "\n" + line);
      }
    }
  }
}
