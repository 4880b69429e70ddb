import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.support.JsonParser;
import io.nats.client.support.JsonValue;
import io.nats.client.support.JsonValueUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One real nats-server process on 127.0.0.1. Client and monitoring ports are chosen by the server itself
 * ({@code -1}) and read back from its ports file, so parallel test runs never race for them. Its stdout and
 * stderr go to {@code server.log} in its folder. Closing it kills the process if it is still running; a JVM
 * shutdown hook does the same for anything a crashed test run leaves behind.
 */
final class NatsServerProcess implements AutoCloseable {
  static final String INSTALL_HINT = "nats-server not found: set NATS_SERVER, put nats-server on PATH, "
      + "or apt-get install -y nats-server";

  /**
   * Log fragments nats-server 2.9.10 writes when it cannot load a stream or consumer from its store at start-up
   * (server/jetstream.go, the account restore loop). Each one means data the operator expected is not served.
   */
  static final List<String> LOAD_ERRORS = List.of(
      "checksums do not match",
      "Missing stream metafile", "Missing stream checksum file", "Error reading metafile",
      "Error reading Stream metafile checksum", "Bad stream encryption key length",
      "Error decrypting our stream metafile", "Error unmarshalling stream metafile", "Error recreating stream",
      "Missing consumer metafile", "Missing consumer checksum", "Error reading consumer metafile",
      "Error decrypting our consumer metafile", "Error unmarshalling consumer metafile",
      "Error adding consumer", "Error restoring consumer state",
      // 2.11.9+: a config it cannot decode strictly, or needs a newer API level, is loaded offline.
      "Detected unsupported stream", "Stopping unsupported stream");

  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly)));
  }

  private final String name;
  private final NatsConfig config;
  private final Path dir;
  private final Path storeDir;
  private final Process process;
  private final String clientUrl;
  private final String httpUrl;

  private NatsServerProcess(String name, NatsConfig config, Path dir, Path storeDir, Process process,
      String clientUrl, String httpUrl) {
    this.name = name;
    this.config = config;
    this.dir = dir;
    this.storeDir = storeDir;
    this.process = process;
    this.clientUrl = clientUrl;
    this.httpUrl = httpUrl;
  }

  /** The nats-server to test against: env NATS_SERVER, else nats-server on PATH, else /usr/sbin/nats-server. */
  static Optional<Path> findBinary() {
    String env = System.getenv("NATS_SERVER");
    if (env != null && !env.isBlank()) return Optional.of(Path.of(env)).filter(Files::isExecutable);
    Stream<Path> onPath = Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
        .filter(p -> !p.isEmpty()).map(p -> Path.of(p, "nats-server"));
    return Stream.concat(onPath, Stream.of(Path.of("/usr/sbin/nats-server"))).filter(Files::isExecutable).findFirst();
  }

  /**
   * Starts a {@code server} generation nats-server named {@code name} in {@code dir} (config, log and ports file go there) storing in
   * {@code storeDir}, with {@code config}'s accounts and encryption plus {@code extra} config text (a cluster
   * block, say). Returns once its client and monitoring ports are open.
   */
  static NatsServerProcess start(ServerGeneration server, String name, NatsConfig config, Path storeDir, String extra, Path dir) {
    Path binary = server.binary();
    try {
      Files.createDirectories(dir);
      Path conf = dir.resolve("server.conf");
      Files.writeString(conf, "server_name: " + name + "\n"
          + "listen: 127.0.0.1:-1\n"
          + "http: 127.0.0.1:-1\n"
          + "ports_file_dir: " + NatsConfig.quote(dir.toString()) + "\n"
          + config.render(storeDir) + extra);
      Process process = new ProcessBuilder(binary.toString(), "-c", conf.toString())
          .redirectErrorStream(true).redirectOutput(dir.resolve("server.log").toFile()).start();
      RUNNING.add(process);
      JsonValue[] ports = new JsonValue[1];
      try {
        Await.until(START_TIMEOUT, "nats-server " + name + " to open its ports", () -> {
          if (!process.isAlive()) throw new IllegalStateException("nats-server exited with " + process.exitValue());
          try (Stream<Path> files = Files.list(dir)) {
            Optional<Path> file = files.filter(f -> f.toString().endsWith(".ports")).findFirst();
            if (file.isEmpty()) return "no ports file yet";
            ports[0] = JsonParser.parse(Files.readString(file.get()));
            // the server may not have finished writing it: read again until it names both ports
            boolean whole = !JsonValueUtils.readStringList(ports[0], "nats").isEmpty()
                && !JsonValueUtils.readStringList(ports[0], "monitoring").isEmpty();
            return whole ? null : "ports file not yet complete";
          }
        });
      } catch (IllegalStateException e) {
        process.destroyForcibly();
        throw new IllegalStateException(e.getMessage() + "\n" + tail(dir.resolve("server.log")), e);
      }
      return new NatsServerProcess(name, config, dir, storeDir, process,
          JsonValueUtils.readStringList(ports[0], "nats").get(0),
          JsonValueUtils.readStringList(ports[0], "monitoring").get(0));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Starts the recovery server an operator starts on a prepared store: same accounts and key as the cluster had,
   * no cluster block. Returns once JetStream is up, which in 2.9 means every stream in the store was loaded.
   */
  static NatsServerProcess standalone(ServerGeneration generation, NatsConfig config, Path storeDir, Path dir) {
    NatsServerProcess server = start(generation, "recovery", config, storeDir, "", dir);
    try {
      Await.until(START_TIMEOUT, "JetStream on the recovery server", () -> {
        String health = server.get("/healthz").toJson();
        return health.contains("\"ok\"") ? null : health;
      });
    } catch (IllegalStateException e) {
      server.close();
      throw new IllegalStateException(e.getMessage() + "\n" + tail(server.logFile()), e);
    }
    return server;
  }

  String name() {
    return name;
  }

  long pid() {
    return process.pid();
  }

  NatsConfig config() {
    return config;
  }

  /** The store_dir: the folder that holds {@code jetstream/}. */
  Path storeDir() {
    return storeDir;
  }

  String clientUrl() {
    return clientUrl;
  }

  String httpUrl() {
    return httpUrl;
  }

  Path logFile() {
    return dir.resolve("server.log");
  }

  String log() {
    try {
      return Files.readString(logFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The log lines that say a stream or consumer in the store did not load (see {@link #LOAD_ERRORS}). */
  List<String> loadErrors() {
    return log().lines().filter(line -> LOAD_ERRORS.stream().anyMatch(line::contains)).toList();
  }

  /** GETs a monitoring endpoint, e.g. {@code /jsz?accounts=true}, and parses its JSON. */
  JsonValue get(String pathAndQuery) throws IOException, InterruptedException {
    HttpResponse<String> response = HTTP.send(
        HttpRequest.newBuilder(URI.create(httpUrl + pathAndQuery)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    return JsonParser.parse(response.body());
  }

  /** What this server holds, per account, stream and consumer (with their configs), from its own point of view. */
  JsonValue jsz() throws IOException, InterruptedException {
    return get("/jsz?accounts=true&streams=true&consumers=true&config=true");
  }

  /** A client connection to this server, logged in to {@code account}. */
  Connection connect(String account) throws IOException, InterruptedException {
    return connect(config, account, clientUrl);
  }

  static Connection connect(NatsConfig config, String account, String... urls)
      throws IOException, InterruptedException {
    Options.Builder options = Options.builder().servers(urls).connectionTimeout(Duration.ofSeconds(5));
    config.login(account).ifPresent(a -> options.userInfo(a.user(), a.password()));
    return Nats.connect(options.build());
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** SIGKILL: the server gets no chance to flush or close anything, as when a machine or region disappears. */
  void kill() {
    process.destroyForcibly();
    waitForExit();
  }

  /** SIGTERM, as an operator stops a service; fails if the server does not exit in time. */
  void stop() {
    process.destroy();
    try {
      if (!process.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        kill();
        throw new IllegalStateException("nats-server " + name + " ignored SIGTERM for " + STOP_TIMEOUT.toSeconds() + " s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    RUNNING.remove(process);
  }

  /**
   * Copies this server's {@code jetstream/} folder into {@code target/jetstream}, the way {@code cp -a} would,
   * and returns {@code target}, a store_dir for a recovery server. Works on a running server too: a file the
   * server deletes while the copy runs is missing from the copy, as it would be with cp.
   */
  Path copyStoreTo(Path target) throws IOException {
    Path from = storeDir.resolve("jetstream");
    Path to = target.resolve("jetstream");
    Files.walkFileTree(from, new SimpleFileVisitor<>() {
      @Override public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
        Files.createDirectories(to.resolve(from.relativize(d).toString()));
        return FileVisitResult.CONTINUE;
      }

      @Override public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
        try {
          Files.copy(f, to.resolve(from.relativize(f).toString()), StandardCopyOption.COPY_ATTRIBUTES);
        } catch (NoSuchFileException vanished) {
          // Deleted by the running server between listing and copying.
        }
        return FileVisitResult.CONTINUE;
      }

      @Override public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
        if (e instanceof NoSuchFileException) return FileVisitResult.CONTINUE;
        throw e;
      }
    });
    return target;
  }

  @Override public void close() {
    if (process.isAlive()) kill();
  }

  private void waitForExit() {
    try {
      process.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    RUNNING.remove(process);
  }

  /** The end of a server log, for failure messages. */
  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return "last lines of " + log + ":\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log at " + log + ")";
    }
  }
}
