import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A snapshot the source server gives up: 2.10+ stop sending when the archive is not acknowledged for a while (2 s on
 * 2.10 and 2.11, 5 s from 2.12.5) once 8 MiB are in flight, and end it with "408 No Flow Response" instead of 204;
 * what came so far must not count as the stream. 2.9 never gives up: it waits 10 ms and sends on. A stream deleted
 * on the source during its snapshot ends in silence on every version: no more chunks and no end.
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class SnapshotEndTest {
  @TempDir static Path tmp;
  @Parameter ServerGeneration generation;

  private NatsServerProcess source;

  /** An 11 MiB stream, more than the 8 MiB the server sends before it waits for acknowledgements. */
  @BeforeParameterizedClassInvocation void aSourceWithALargeStream() throws Exception {
    generation.binary(); // skips this generation, with the command that fetches it, when it is not here
    Path work = Files.createDirectories(tmp.resolve(generation.name()));
    source = NatsServerProcess.standalone(generation, NatsConfig.defaults(), work.resolve("store"), work.resolve("server"));
    try (Connection nc = source.connect("$G")) {
      addLarge(nc, "BIG");
    }
  }

  /** 11 MiB of random bytes (the s2-compressed archive stays as large): the server sends 8 MiB, then waits for acks. */
  private static void addLarge(Connection nc, String stream) throws Exception {
    String subject = stream.toLowerCase();
    nc.jetStreamManagement().addStream(StreamConfiguration.builder().name(stream).subjects(subject).storageType(StorageType.File).build());
    java.util.Random random = new java.util.Random(13);
    byte[] payload = new byte[16 * 1024];
    for (int i = 0; i < 700; i++) {
      random.nextBytes(payload);
      nc.jetStream().publishAsync(subject, payload.clone());
    }
    nc.jetStream().publish(subject, payload);
  }

  @AfterParameterizedClassInvocation void shutDown() {
    if (source != null) source.close();
  }

  @Test void aSinkSlowerThanTheSourceAllowsFailsWithTheSourcesStatusAndWhatToDo() throws Exception {
    long[] taken = new long[1];
    try (Connection nc = source.connect("$G")) {
      Transfer.ChunkSink slow = chunk -> {
        if (taken[0] == 0) pause(7000); // a target (or disk) that takes longer than any release waits
        taken[0] += chunk.length;
      };
      if (!generation.atLeast(10)) {
        long bytes = Transfer.snapshot(nc, "BIG", reply -> slow);
        assertEquals(bytes, taken[0]);
        assertTrue(bytes > 10 * 1024 * 1024, "2.9 sent " + bytes + " bytes");
        return;
      }

      Refusal r = assertThrows(Refusal.class, () -> Transfer.snapshot(nc, "BIG", reply -> slow));

      assertEquals("the source server ended the snapshot of BIG with 408 No Flow Response after " + taken[0] + " bytes: it "
          + "waited longer than it allows for the archive to be taken (a slow target, link or disk). Nothing of it counts "
          + "as arrived; run the same command again", r.getMessage());
      assertTrue(taken[0] < 10 * 1024 * 1024, "the whole archive arrived: " + taken[0]);
    }
  }

  @Test void aStreamDeletedOnTheSourceDuringItsSnapshotFailsAfterTheChunkTimeoutSayingSo() throws Exception {
    long[] taken = new long[1];
    try (Connection nc = source.connect("$G"); Connection other = source.connect("$G")) {
      addLarge(nc, "GOING"); // larger than the window: the server cannot have sent it all before the first chunk is taken
      Transfer.ChunkSink deleting = chunk -> {
        if (taken[0] == 0) {
          try {
            other.jetStreamManagement().deleteStream("GOING"); // someone deletes it on the recovery server meanwhile
          } catch (io.nats.client.JetStreamApiException e) {
            throw new IOException(e);
          }
        }
        taken[0] += chunk.length;
      };

      // The source stops sending and sends no end either (2.9, 2.10 and 2.15 alike).
      Refusal r = assertThrows(Refusal.class, () -> Transfer.snapshot(nc, "GOING", reply -> deleting));

      assertEquals("the source sent no snapshot data for 30 s after " + taken[0] + " bytes, and no end: is the stream still on "
          + "the recovery server (deleted, or the server stopped)? Nothing of it counts as arrived; run the same command again",
          r.getMessage());
    }
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
