import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A new cluster older than the recovery server is refused per stream before anything is sent, with what to do: the
 * operator who served the 2.9 survivor's store with the newest nats-server (2.15) and restores into a 2.10 cluster
 * is told to serve it with the survivor's own release, and that works.
 */
class OlderTargetTest {
  @TempDir Path tmp;

  @Test void versionsCompareByNumberNotByText() {
    assertNull(Transfer.versionRefusal("2.10.27", "2.15.1"));
    assertNull(Transfer.versionRefusal("2.9.10", "v2.9.10"));
    assertTrue(Transfer.versionRefusal("2.10.0", "2.9.25").contains("the target runs nats-server 2.9.25, older than"));
  }

  @Test void anOlderTargetIsRefusedBeforeAnythingIsSentAndTheSurvivorsReleaseServesIt() throws Exception {
    List<ServerGeneration> all = ServerGeneration.all();
    ServerGeneration survivors = all.get(0), target = all.get(1), newest = all.get(2); // 2.9, 2.10, 2.15
    // Two copies of the prepared survivor: a server of one release must not load the store another release wrote.
    Path store = tmp.resolve("store"), again = tmp.resolve("again");
    for (Path copy : List.of(store, again)) {
      StoreBuilder.copyTree(TransferTest.FIXTURE.resolve("store"), copy);
      assertEquals(0, Cli.run("prepare", copy.toString()).exit());
    }
    try (NatsServerProcess to = NatsServerProcess.standalone(target, NatsConfig.defaults(), tmp.resolve("target-store"), tmp.resolve("target"))) {
      String tooNew = newest.version().replaceFirst("^v", ""), old = target.version().replaceFirst("^v", "");

      Cli.Result refused = Cli.run("restore", "--nats-server", newest.binary().toString(), "--to", to.clientUrl(), "--stream", "SINGLE",
          store.toString());
      try (Connection nc = to.connect("$G")) {
        assertEquals(List.of(), nc.jetStreamManagement().getStreamNames(), "something was sent");
      }
      Cli.Result r = Cli.run("restore", "--nats-server", survivors.binary().toString(), "--to", to.clientUrl(), "--stream", "SINGLE",
          again.toString());

      assertEquals(1, refused.exit(), refused.all());
      assertTrue(refused.out().matches("(?s).*\\$G +SINGLE +1 +refused.*"), refused.out());
      assertTrue(refused.out().contains("NOT DONE $G > SINGLE: the target runs nats-server " + old + ", older than the recovery "
          + "server's " + tooNew + ": an older server cannot be trusted with a newer one's archive and config, so nothing was "
          + "sent. Either upgrade the new cluster to " + tooNew + " or newer, or serve the store with the release the survivor "
          + "ran, if that is not newer than " + old + " (restore --nats-server BIN, or --from a server of that release)."), refused.out());
      assertEquals(0, r.exit(), r.all());
      assertTrue(r.out().matches("(?s).*\\$G +SINGLE +1 +restored.*"), r.out());
    }
  }
}
