import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A nats-server started the way the runbook tells an operator to (a command line, recovery.conf's
 * monitoring port), not through the harness's own config: to check what the operator would see.
 */
final class HandStartedServer implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final Process process;
  private final Path log;
  private final int httpPort;

  private HandStartedServer(Process process, Path log, int httpPort) {
    this.process = process;
    this.log = log;
    this.httpPort = httpPort;
  }

  /** Starts {@code command} with its output in {@code log}, and waits until /healthz says ok (on 2.9: store loaded). */
  static HandStartedServer start(Path log, int httpPort, Duration timeout, String... command) throws IOException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    HandStartedServer server = new HandStartedServer(process, log, httpPort);
    try {
      Await.until(timeout, "the recovery server on port " + httpPort, () -> {
        if (!process.isAlive()) throw new IllegalStateException("nats-server exited with " + process.exitValue() + "\n" + NatsServerProcess.tail(log));
        try {
          String health = get(httpPort, "/healthz");
          return health.contains("\"ok\"") ? null : health;
        } catch (ConnectException starting) {
          return "not listening yet";
        }
      });
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }

  /** GETs a monitoring endpoint of a server on 127.0.0.1. */
  static String get(int httpPort, String path) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  String get(String path) throws IOException, InterruptedException { return get(httpPort, path); }

  /** Its log lines that say a stream or consumer did not load (NatsServerProcess.LOAD_ERRORS). */
  List<String> loadErrors() {
    try {
      return Files.readAllLines(log).stream().filter(line -> NatsServerProcess.LOAD_ERRORS.stream().anyMatch(line::contains)).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override public void close() {
    process.destroy();
    try {
      process.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
