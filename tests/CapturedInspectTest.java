import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * inspect on the survivor stores real 2.9, 2.10 and 2.15 clusters left (tests/fixtures): every stream's messages,
 * sequence range and deletes, and every consumer's ack floor and delivered stream sequence, are what the cluster
 * served (TRUTH.json), read from disk without a server, writing nothing.
 */
class CapturedInspectTest {
  @ParameterizedTest
  @ValueSource(strings = {"2.9.10", "2.10.27", "2.15.1"})
  void inspectReadsWhatTheClusterServed(String version) throws Exception {
    Path fixture = Path.of("tests/fixtures/cluster-" + version);
    JsonNode truth = Json.MAPPER.readTree(Files.readString(fixture.resolve("TRUTH.json")));
    Path store = fixture.resolve("store");
    String before = StoreBuilder.treeDigest(store);

    Cli.Result r = Cli.run("inspect", "--json", "--verify-data", store.toString());

    assertEquals(0, r.exit(), r.all());
    assertEquals(before, StoreBuilder.treeDigest(store), "inspect writes nothing");
    JsonNode doc = Json.MAPPER.readTree(r.out());
    for (JsonNode t : truth.get("streams")) {
      String name = t.get("account").asText() + " > " + t.get("name").asText();
      JsonNode s = null;
      for (JsonNode c : doc.get("streams")) {
        if (c.get("account").asText().equals(t.get("account").asText()) && c.get("name").asText().equals(t.get("name").asText())) s = c;
      }
      assertEquals(true, s != null, name + " is listed");
      assertEquals(t.get("messages").asLong(), s.get("messages").asLong(), name + ": messages");
      assertEquals(t.get("first_seq").asLong(), s.get("first_seq").asLong(), name + ": first_seq");
      assertEquals(t.get("last_seq").asLong(), s.get("last_seq").asLong(), name + ": last_seq");
      if (t.has("deleted")) assertEquals(t.get("deleted").asLong(), s.get("deleted").asLong(), name + ": deleted");
      assertEquals(0, s.get("damaged").size(), name + ": " + s.get("damaged"));
      for (JsonNode tc : t.get("consumers")) {
        JsonNode c = null;
        for (JsonNode x : s.get("consumers")) if (x.get("name").asText().equals(tc.get("name").asText())) c = x;
        String label = name + " > " + tc.get("name").asText();
        assertEquals(true, c != null, label + " is listed");
        assertEquals(tc.get("ack_floor").asLong(), c.get("ack_floor").get("stream_seq").asLong(), label + ": ack floor");
        assertEquals(tc.get("delivered").asLong(), c.get("delivered").get("stream_seq").asLong(), label + ": delivered");
      }
    }
  }
}
