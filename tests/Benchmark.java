///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES ../js-recover.java
//SOURCES support/StoreBuilder.java
//SOURCES support/ClusterStoreGenerator.java
//SOURCES support/IoFloor.java
//MAIN Benchmark

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Wall time and peak memory of js-recover on synthetic clustered stores (tests/support/ClusterStoreGenerator), run
 * as an operator runs it, printed as a Markdown table (not a timed test):
 *
 *   ./jbang tests/Benchmark.java [streams,streams,...] [consumers-per-stream] [dir]     (from the repository root)
 *
 * Defaults: 1000,10000 streams, 3 consumers each, a temp dir removed afterwards; add 50000 when there is time
 * (about 10 minutes). For each size: a fresh store is generated; then, on it and in this order, js-recover
 * --version (JVM start-up alone), inspect, the I/O floor (tests/support/IoFloor: read every meta file once and
 * write as many back, atomically, fsynced), and prepare. js-recover runs as the java command JBang resolves for
 * js-recover.java (with its //JAVA_OPTIONS), under /usr/bin/time for the peak RSS of that process; JBang's own
 * launch (it resolves the command first) is timed apart. Files/s counts meta files: read by inspect, written by
 * prepare and the floor.
 */
public class Benchmark {
  public static void main(String[] args) throws Exception {
    String[] sizes = (args.length > 0 ? args[0] : "1000,10000").split(",");
    int consumers = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Path dir = args.length > 2 ? Files.createDirectories(Path.of(args[2])) : Files.createTempDirectory("js-recover-bench");
    Path repo = Path.of("").toAbsolutePath(); // run from the repository root
    List<String> tool = resolvedCommand(repo);

    Measured launcher = timed(dir, concat(List.of(repo.resolve("jbang").toString(), repo.resolve("js-recover.java").toString()), "--version"));
    System.out.printf("JBang launch + start-up (./jbang js-recover.java --version): %.2f s%n%n", launcher.seconds);
    System.out.println("| streams | consumers | files in store | start-up (--version) | inspect | inspect files/s | inspect peak RSS "
        + "| prepare | prepare files/s | prepare peak RSS | I/O floor | floor files/s |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (String size : sizes) {
      int streams = Integer.parseInt(size.trim());
      Path storeDir = dir.resolve("store-" + streams);
      long t0 = System.nanoTime();
      StoreBuilder store = ClusterStoreGenerator.generate(storeDir, streams, consumers);
      long files;
      try (Stream<Path> all = Files.walk(store.jetstream())) {
        files = all.filter(Files::isRegularFile).count();
      }
      System.err.printf("generated %d streams, %d files in %.1f s%n", streams, files, (System.nanoTime() - t0) / 1e9);
      long metaFiles = ClusterStoreGenerator.metaFiles(streams, consumers);
      String s = storeDir.toString();

      Measured startup = best(3, () -> timed(dir, concat(tool, "--version")));
      Measured inspect = timed(dir, concat(tool, "inspect", s));
      IoFloor.Result floor = IoFloor.run(store.jetstream(), 64);
      Measured prepare = timed(dir, concat(tool, "prepare", s));
      if (inspect.exit != 0 || prepare.exit != 0) {
        throw new IllegalStateException("inspect exit " + inspect.exit + ", prepare exit " + prepare.exit);
      }
      System.out.printf("| %,d | %,d | %,d | %.2f s | %.2f s | %,.0f | %d MB | %.2f s | %,.0f | %d MB | %.2f s | %,.0f |%n",
          streams, (long) streams * consumers, files, startup.seconds, inspect.seconds, metaFiles / inspect.seconds,
          inspect.peakKb / 1024, prepare.seconds, metaFiles / prepare.seconds, prepare.peakKb / 1024, floor.seconds(),
          floor.filesWritten() / floor.seconds());
      if (args.length <= 2) delete(storeDir);
    }
    if (args.length <= 2) delete(dir);
  }

  record Measured(double seconds, long peakKb, int exit) {}

  /** Runs a command under /usr/bin/time: its wall time and the peak RSS of its (last exec'd) process. */
  static Measured timed(Path scratch, List<String> cmd) throws IOException, InterruptedException {
    Path out = scratch.resolve("time.out");
    List<String> full = new ArrayList<>(List.of("/usr/bin/time", "-o", out.toString(), "-f", "%e %M"));
    full.addAll(cmd);
    Process p = new ProcessBuilder(full).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    int exit = p.waitFor();
    List<String> lines = Files.readAllLines(out);
    String[] figures = lines.get(lines.size() - 1).trim().split(" ");
    return new Measured(Double.parseDouble(figures[0]), Long.parseLong(figures[1]), exit);
  }

  interface Run {
    Measured get() throws Exception;
  }

  static Measured best(int times, Run run) throws Exception {
    Measured best = null;
    for (int i = 0; i < times; i++) {
      Measured m = run.get();
      if (best == null || m.seconds < best.seconds) best = m;
    }
    return best;
  }

  /** The java command line JBang runs for js-recover.java (it prints it with --verbose), without the arguments. */
  static List<String> resolvedCommand(Path repo) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(repo.resolve("jbang").toString(), "--verbose", repo.resolve("js-recover.java").toString(),
        "--version").redirectErrorStream(true).start();
    String found = null;
    for (String line : new String(p.getInputStream().readAllBytes()).split("\n")) {
      int at = line.indexOf("] run: ");
      if (at >= 0) found = line.substring(at + "] run: ".length()).trim();
    }
    p.waitFor();
    if (found == null) throw new IllegalStateException("JBang did not print the command it runs");
    List<String> cmd = new ArrayList<>(List.of(found.split(" ")));
    cmd.remove(cmd.size() - 1); // --version
    return cmd;
  }

  static List<String> concat(List<String> cmd, String... args) {
    List<String> all = new ArrayList<>(cmd);
    all.addAll(List.of(args));
    return all;
  }

  static void delete(Path root) throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
