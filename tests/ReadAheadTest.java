import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * inspect reads one stream's blocks ahead on every core (ReadAhead) and applies them in block order: a stream of
 * many blocks with damage in several reads exactly as block by block, results come back in order however long each
 * item takes, at most two items per core are in flight across all readers, and a failure frees its slots.
 */
class ReadAheadTest {
  @TempDir Path tmp;

  @Test
  void aBlockIsReadWholeInPiecesWhateverItsSize() throws Exception {
    java.util.Random random = new java.util.Random(7);
    for (int size : new int[] {0, 1, 1 << 18, (1 << 18) + 1, 3 * (1 << 18) + 17, 8 << 20}) {
      byte[] block = new byte[size];
      random.nextBytes(block);
      Path file = Files.write(tmp.resolve(size + ".blk"), block);

      assertTrue(java.util.Arrays.equals(block, BlockFile.read(file)), size + " bytes read back");
    }
    assertThrows(java.nio.file.NoSuchFileException.class, () -> BlockFile.read(tmp.resolve("absent.blk")));
  }

  @Test
  void aStreamOfManyBlocksWithDamageInSeveralReadsAsBlockByBlock() throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "BIG", 1);
    Path msgs = store.streamDir("$G", "BIG").resolve("msgs");
    long now = System.currentTimeMillis() * 1_000_000L;
    int blocks = 40, perBlock = 25;
    // The record whose payload is flipped, per damaged block: the rebuild drops the records after it in its block.
    java.util.Map<Integer, Integer> flipped = java.util.Map.of(7, 4, 19, 0, 33, perBlock - 1);
    java.util.Map<Integer, Integer> offsets = new java.util.HashMap<>();
    for (int n = 1; n <= blocks; n++) {
      long[] times = new long[perBlock];
      java.util.Arrays.fill(times, now);
      byte[] block = StoreBuilder.messageBlock("BIG", n, (n - 1L) * perBlock + 1, times);
      if (flipped.containsKey(n)) {
        int at = 0;
        for (int k = 0; k < flipped.get(n); k++) at += LittleEndian.int32(block, at);
        offsets.put(n, at);
        block[at + LittleEndian.int32(block, at) - MsgBlock.HASH - 2] ^= 1; // in the payload
      }
      Files.write(msgs.resolve(n + ".blk"), block);
    }
    String before = StoreBuilder.treeDigest(store.storeDir);

    Cli.Result r = Cli.run("inspect", "--json", "--verify-data", store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    JsonNode big = Json.MAPPER.readTree(r.out()).get("streams").get(0);
    assertEquals(blocks * perBlock - 3, big.get("messages").asLong(), "the three flipped records are not counted");
    assertEquals(1, big.get("first_seq").asLong());
    assertEquals(blocks * perBlock, big.get("last_seq").asLong());
    JsonNode damaged = big.get("damaged");
    assertEquals(3, damaged.size(), damaged.toString());
    int k = 0;
    for (int n : new int[] {7, 19, 33}) {
      JsonNode d = damaged.get(k++);
      assertEquals(n, d.get("block").asInt(), damaged.toString());
      assertEquals(offsets.get(n), d.get("offset").asInt(), damaged.toString());
      assertEquals("record seq " + ((n - 1) * perBlock + flipped.get(n) + 1) + ": checksum mismatch", d.get("why").asText());
      assertEquals(perBlock - 1 - flipped.get(n), d.get("dropped_at_start").asInt(), damaged.toString());
    }
    assertEquals(20 + 24, big.get("removed_at_start").get("damage").asLong());
    assertEquals(before, StoreBuilder.treeDigest(store.storeDir), "inspect writes nothing");
  }

  @Test
  void resultsComeInOrderWithAtMostTwoItemsPerCoreInFlight() {
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
      AtomicInteger inFlight = new AtomicInteger(), most = new AtomicInteger();
      java.util.Random random = new java.util.Random(7);
      List<Integer> items = IntStream.range(0, 300).boxed().toList();
      List<Integer> delays = items.stream().map(i -> random.nextInt(3)).toList();
      List<Integer> got = new ArrayList<>();
      try (ReadAhead<Integer, Integer> ahead = new ReadAhead<>(items, i -> {
        most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
        sleep(delays.get(i));
        return i * 2;
      })) {
        for (int i = 0; i < items.size(); i++) {
          got.add(ahead.next());
          inFlight.decrementAndGet();
        }
      }
      assertEquals(items.stream().map(i -> i * 2).toList(), got);
      assertTrue(most.get() <= ReadAhead.SLOTS, most.get() + " in flight, " + ReadAhead.SLOTS + " slots");
      assertTrue(most.get() > 1, "read ahead at all");
    });
  }

  @Test
  void aLoneItemIsDoneOnTheReadersOwnThread() throws IOException {
    Thread reader = Thread.currentThread();
    try (ReadAhead<Integer, Thread> ahead = new ReadAhead<>(List.of(1), i -> Thread.currentThread())) {
      assertEquals(reader, ahead.next(), "a stream of one block is read without a hand-off");
    }
    try (ReadAhead<Integer, Thread> ahead = new ReadAhead<>(List.of(1, 2), i -> Thread.currentThread())) {
      assertTrue(ahead.next() != reader, "blocks of a longer stream are read ahead on the pool");
    }
  }

  @Test
  void aFailedItemIsThrownInItsTurnAndFreesItsSlotsForOtherReaders() {
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
      List<Integer> items = IntStream.range(0, 50).boxed().toList();
      // Stopped readers must give back every slot they held, or the readers after them would wait forever.
      for (int round = 0; round < 2 * ReadAhead.SLOTS + 2; round++) {
        try (ReadAhead<Integer, Integer> ahead = new ReadAhead<>(items, i -> {
          if (i == 5) throw new IOException("block 5 cannot be read");
          return i;
        })) {
          for (int i = 0; i < 5; i++) assertEquals(i, ahead.next());
          IOException e = assertThrows(IOException.class, ahead::next);
          assertEquals("block 5 cannot be read", e.getMessage());
        }
      }
      for (int round = 0; round < 2 * ReadAhead.SLOTS + 2; round++) {
        try (ReadAhead<Integer, Integer> ahead = new ReadAhead<>(List.of(1), i -> {
          throw new IOException("the only block cannot be read");
        })) {
          assertThrows(IOException.class, ahead::next);
        }
      }
      // Many readers at once (the walker reads streams on many threads) share the slots and all finish, in order.
      List<Thread> readers = new ArrayList<>();
      List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
      for (int t = 0; t < 16; t++) {
        Thread reader = new Thread(() -> {
          try (ReadAhead<Integer, Integer> ahead = new ReadAhead<>(items, i -> i)) {
            for (int i : items) assertEquals(i, ahead.next());
          } catch (Throwable e) {
            failures.add(e);
          }
        });
        readers.add(reader);
        reader.start();
      }
      for (Thread reader : readers) reader.join();
      assertEquals(List.of(), failures);
    });
  }

  static void sleep(int millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
