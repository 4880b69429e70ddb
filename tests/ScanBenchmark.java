///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES ../js-recover.java
//SOURCES support/*.java
//DEPS io.nats:jnats:2.26.2
//DEPS org.junit.jupiter:junit-jupiter:5.14.4
//MAIN ScanBenchmark

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.CompressionOption;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StreamConfiguration;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Scan throughput of the message block reader, printed as figures (not a timed test):
 *   ./jbang tests/ScanBenchmark.java [MB-per-stream] [dir]
 * (defaults: 300 MB, a temp dir removed afterwards). The newest installed nats-server (2.15, else 2.10) writes a
 * plain and an s2-compressed stream of that many MB of JSON-like messages, and a chacha- and an aes-encrypted store
 * one more each.
 * Then every block of each is read from disk and scanned, with and without record hash verification, on one thread
 * and on all cores (an encrypted block's key file is opened as part of its scan); each figure is the best of
 * {@value #ROUNDS} rounds.
 * MB/s is of block data: the records as the server counts them (decoded bytes for compressed blocks).
 * Last, each stream is read whole as inspect --verify-data reads it (StreamContents: one stream's blocks read ahead
 * on every core and applied in block order), MB/s of its messages' bytes.
 */
public class ScanBenchmark {
  static final String[] WORDS = ("order customer shipped paid pending item quantity price total discount warehouse"
      + " berlin paris lisbon express standard returned invoice account region north south east west").split(" ");

  public static void main(String[] args) throws Exception {
    int mb = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    Path dir = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("js-recover-scan-bench");
    ServerGeneration generation = ServerGeneration.all().stream().filter(g -> g.found().isPresent() && g.atLeast(10))
        .reduce((a, b) -> b).orElseThrow(() -> new IllegalStateException("needs nats-server 2.10+: run " + ServerGeneration.FETCH));
    Path store = dir.resolve("store");
    if (!Files.exists(store.resolve("jetstream"))) {
      long t0 = System.nanoTime();
      try (NatsServerProcess server = NatsServerProcess.standalone(generation, NatsConfig.defaults(), store, dir.resolve("server"))) {
        try (Connection nc = server.connect("$G")) {
          fill(nc, "PLAIN", CompressionOption.None, mb);
          fill(nc, "S2", CompressionOption.S2, mb);
        }
        server.stop();
      }
      for (String cipher : SEALED) {
        try (NatsServerProcess server = NatsServerProcess.standalone(generation, NatsConfig.defaults().withEncryption(KEY, cipher),
            dir.resolve("store-" + cipher), dir.resolve("server-" + cipher))) {
          try (Connection nc = server.connect("$G")) {
            fill(nc, cipher.toUpperCase(), CompressionOption.None, mb);
          }
          server.stop();
        }
      }
      System.out.printf("stores: 4 streams of %d MB written by %s (%s) in %.1f s at %s%n", mb, generation,
          generation.version(), (System.nanoTime() - t0) / 1e9, dir);
    }
    System.out.printf("cores: %d, max heap %d MiB%n", Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20);
    for (String stream : List.of("PLAIN", "S2", "CHACHA", "AES")) {
      String cipherName = stream.toLowerCase();
      Path streamDir = (SEALED.contains(cipherName) ? dir.resolve("store-" + cipherName) : store).resolve("jetstream/$G/streams").resolve(stream);
      Path msgs = streamDir.resolve("msgs");
      MetaCrypto.Cipher cipher = null;
      if (Files.exists(streamDir.resolve("meta.key"))) {
        cipher = MetaCrypto.openMeta(KEY.getBytes(StandardCharsets.UTF_8), "$G", stream, Files.readAllBytes(streamDir.resolve("meta.key")),
            Files.readAllBytes(streamDir.resolve("meta.inf")), null).cipher();
      }
      List<Integer> blocks = new ArrayList<>();
      for (int n = 1; Files.exists(msgs.resolve(n + ".blk")); n++) blocks.add(n);
      long onDisk = 0;
      for (int n : blocks) onDisk += Files.size(msgs.resolve(n + ".blk"));
      System.out.printf("%s: %d blocks, %.0f MB on disk%n", stream, blocks.size(), onDisk / 1e6);
      Target target = new Target(stream, msgs, blocks, cipher);
      run(target, true, false); // warms the JIT and the page cache
      for (boolean verify : new boolean[] {false, true}) {
        for (boolean parallel : new boolean[] {false, true}) {
          double best = 0;
          String line = null;
          for (int round = 0; round < ROUNDS; round++) {
            Result r = run(target, verify, parallel);
            if (r.mbPerSec() > best) {
              best = r.mbPerSec();
              line = r.line();
            }
          }
          System.out.println(line);
        }
      }
    }
    // One big stream as inspect --verify-data reads it: its blocks read ahead on every core, applied in order.
    System.out.println("whole stream, as inspect --verify-data reads it (StreamContents):");
    for (String stream : List.of("PLAIN", "S2", "CHACHA", "AES")) {
      String cipherName = stream.toLowerCase();
      boolean sealed = SEALED.contains(cipherName);
      KeyRing keys = new KeyRing(sealed ? KEY.getBytes(StandardCharsets.UTF_8) : null, null);
      Store walked = StoreWalker.walk(sealed ? dir.resolve("store-" + cipherName) : store, keys);
      StoredStream target = walked.streams.stream().filter(st -> st.meta().stream.equals(stream)).findFirst().orElseThrow();
      StreamContents.read(target, keys, true); // warms the JIT
      double best = 0;
      String line = null;
      for (int round = 0; round < ROUNDS; round++) {
        com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long t0 = System.nanoTime(), cpu0 = os.getProcessCpuTime();
        StreamContents c = StreamContents.read(target, keys, true);
        double secs = (System.nanoTime() - t0) / 1e9, mbs = c.bytes / 1e6 / secs;
        double cpuSecs = (os.getProcessCpuTime() - cpu0) / 1e9;
        if (mbs > best) {
          best = mbs;
          // Cores busy: CPU seconds per second, 1.0 for a stream read on one core.
          line = String.format("  %-6s verify-data   stream    %8.0f MB/s  (%d messages, %.0f MB in %.2f s, %.0f MB per CPU s, %.1f cores, %d damaged)",
              stream, mbs, c.messages, c.bytes / 1e6, secs, c.bytes / 1e6 / cpuSecs, cpuSecs / secs, c.damaged.size());
        }
      }
      System.out.println(line);
    }
    if (args.length <= 1) {
      try (var walk = Files.walk(dir)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** Rounds per figure; the best is printed, as other work on a shared machine only ever slows a round down. */
  static final int ROUNDS = 5;

  record Result(double mbPerSec, String line) {}

  static final String KEY = "scan benchmark key";

  /** The ciphers of the encrypted stores, one store each (a server encrypts all of its store with one). */
  static final List<String> SEALED = List.of("chacha", "aes");

  /** A stream's blocks; {@code cipher} is null when they are not encrypted. */
  record Target(String stream, Path msgs, List<Integer> blocks, MetaCrypto.Cipher cipher) {}

  static Result run(Target t, boolean verify, boolean parallel) {
    String stream = t.stream();
    AtomicLong data = new AtomicLong(), records = new AtomicLong(), damaged = new AtomicLong();
    java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    long t0 = System.nanoTime(), cpu0 = parallel ? os.getProcessCpuTime() : threads.getCurrentThreadCpuTime();
    (parallel ? t.blocks().parallelStream() : t.blocks().stream()).forEach(n -> {
      try {
        BlockKey key = t.cipher() == null ? null : BlockKey.open(KEY.getBytes(StandardCharsets.UTF_8), "$G", stream, n,
            Files.readAllBytes(t.msgs().resolve(n + ".key")), t.cipher()).value();
        MsgBlock.Scan scan = MsgBlock.scan(stream, n, Files.readAllBytes(t.msgs().resolve(n + ".blk")), key, verify, null);
        data.addAndGet(scan.dataBytes());
        records.addAndGet(scan.records());
        damaged.addAndGet(scan.damage().size());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    double secs = (System.nanoTime() - t0) / 1e9, mbs = data.get() / 1e6 / secs;
    // MB per CPU second too: what a core does, whatever else the machine runs (on all cores: the whole process's CPU
    // time, JIT and GC threads included, so a figure a little below the one thread's is all cores busy).
    long cpu = (parallel ? os.getProcessCpuTime() : threads.getCurrentThreadCpuTime()) - cpu0;
    String perCpu = String.format(", %.0f MB per CPU s", data.get() / 1e6 / (cpu / 1e9));
    return new Result(mbs, String.format("  %-6s %-13s %-9s %8.0f MB/s  (%d records, %.0f MB in %.2f s%s, %d damaged)", stream,
        verify ? "verify-data" : "no hashing", parallel ? "parallel" : "1 thread", mbs, records.get(), data.get() / 1e6, secs,
        perCpu, damaged.get()));
  }

  /** Publishes {@code mb} MB of 2-4 KB JSON-like messages (s2 shrinks them about 2-3x) into a new stream. */
  static void fill(Connection nc, String name, CompressionOption compression, int mb) throws Exception {
    JetStreamManagement jsm = nc.jetStreamManagement();
    JetStream js = nc.jetStream();
    jsm.addStream(StreamConfiguration.builder().name(name).subjects(name.toLowerCase() + ".>").compressionOption(compression).build());
    Random random = new Random(42);
    long target = mb * 1_000_000L, written = 0;
    List<CompletableFuture<PublishAck>> inFlight = new ArrayList<>();
    for (int i = 0; written < target; i++) {
      StringBuilder json = new StringBuilder("{\"order\":").append(i).append(",\"customer\":\"c-").append(random.nextInt(100_000))
          .append("\",\"note\":\"");
      int len = 2000 + random.nextInt(2000);
      while (json.length() < len) json.append(WORDS[random.nextInt(WORDS.length)]).append(random.nextInt(1000)).append(' ');
      byte[] payload = json.append("\"}").toString().getBytes(StandardCharsets.UTF_8);
      inFlight.add(js.publishAsync(name.toLowerCase() + ".orders." + (i % 16), payload));
      written += payload.length;
      if (inFlight.size() == 2000) {
        for (CompletableFuture<PublishAck> f : inFlight) f.get();
        inFlight.clear();
      }
    }
    for (CompletableFuture<PublishAck> f : inFlight) f.get();
  }
}
