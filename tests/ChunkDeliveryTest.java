import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore's chunks go to a subject the target has just opened. In a cluster the node restore talks to may not
 * know yet that another node listens there (CI saw chunk 1 of a restore into a 2.15 cluster answered by nobody,
 * 0.1 s after the target opened the restore): the chunk must be sent again, not the stream failed.
 */
class ChunkDeliveryTest {
  @TempDir static Path tmp;
  static NatsServerProcess server;

  @BeforeAll static void server() {
    server = NatsServerProcess.standalone(ServerGeneration.installed(), NatsConfig.defaults(), tmp.resolve("store"), tmp.resolve("server"));
  }

  @AfterAll static void stop() {
    if (server != null) server.close();
  }

  @Test void aChunkSentBeforeAnyoneListensIsSentAgainUntilTheListenerTakesIt() throws Exception {
    try (Connection client = server.connect("$G"); Connection target = server.connect("$G")) {
      AtomicInteger taken = new AtomicInteger();
      Thread late = new Thread(() -> {
        try {
          Thread.sleep(700);
          Dispatcher d = target.createDispatcher(m -> {
            taken.incrementAndGet();
            target.publish(m.getReplyTo(), m.getData());
          });
          d.subscribe("restore.chunks");
          target.flush(Duration.ofSeconds(5));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      late.start();

      Message reply = Transfer.requestOnceListened(client, "restore.chunks", "chunk 1".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(10));
      late.join();

      assertTrue(reply != null, "the chunk was given up while nobody listened yet");
      assertArrayEquals("chunk 1".getBytes(StandardCharsets.UTF_8), reply.getData());
      assertEquals(1, taken.get(), "the listener took the chunk more than once");
    }
  }

  @Test void aSubjectNobodyEverListensOnGivesNoAnswerOnlyOnceTheTimeoutHasPassed() throws Exception {
    try (Connection client = server.connect("$G")) {
      long start = System.nanoTime();

      Message reply = Transfer.requestOnceListened(client, "nobody.listens", new byte[] {1}, Duration.ofSeconds(2));

      assertNull(reply);
      assertTrue(System.nanoTime() - start >= Duration.ofSeconds(2).toNanos(), "gave up before the timeout");
    }
  }

  @Test void aChunkTheListenerNeverAnswersTimesOutAfterOneWaitAndIsNotSentAgain() throws Exception {
    try (Connection client = server.connect("$G"); Connection target = server.connect("$G")) {
      AtomicInteger received = new AtomicInteger();
      target.createDispatcher(m -> received.incrementAndGet()).subscribe("silent.target");
      target.flush(Duration.ofSeconds(5));

      Message reply = Transfer.requestOnceListened(client, "silent.target", new byte[] {1}, Duration.ofSeconds(2));

      assertNull(reply);
      assertEquals(1, received.get(), "a chunk someone received was sent again");
    }
  }
}
