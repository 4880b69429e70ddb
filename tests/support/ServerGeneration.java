import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * A generation of nats-server that operators run and the real-server suites prove js-recover on: 2.9 (Debian
 * bookworm's package, installed), 2.10 (trixie's) and 2.15 (sid's), the last two fetched into a cache folder by
 * {@code tests/nats-servers.sh}. Suites take {@link #all()} as the arguments of a {@code @ParameterizedClass}
 * and call {@link #binary()} first: a generation absent here skips that run with the command that fetches it,
 * and fails it in CI (env CI=true), where nothing may be skipped.
 */
record ServerGeneration(String name, Optional<Path> found, String howToGet) {
  static final String FETCH = "tests/nats-servers.sh";

  /** Every generation, oldest first. */
  static List<ServerGeneration> all() {
    return List.of(
        new ServerGeneration("2.9", NatsServerProcess.findBinary(), NatsServerProcess.INSTALL_HINT),
        fetched("2.10", "trixie"),
        fetched("2.15", "sid"));
  }

  /** The installed generation, for tests about js-recover itself rather than about a server's behaviour. */
  static ServerGeneration installed() {
    return all().get(0);
  }

  private static ServerGeneration fetched(String name, String suite) {
    String dir = System.getenv("JS_RECOVER_SERVERS");
    Path cache = dir != null && !dir.isBlank() ? Path.of(dir)
        : Path.of(System.getProperty("user.home"), ".cache", "js-recover", "nats-servers");
    Path binary = cache.resolve(suite).resolve("usr/sbin/nats-server");
    return new ServerGeneration(name, Optional.of(binary).filter(Files::isExecutable),
        "nats-server " + name + " not found in " + cache + ": run " + FETCH + " (fetches Debian " + suite + "'s package)");
  }

  /** The binary; skips the calling test (fails it in CI) when this generation is not here. */
  Path binary() {
    if (found.isPresent()) return found.get();
    if ("true".equals(System.getenv("CI"))) Assertions.fail(howToGet);
    Assumptions.abort(howToGet);
    throw new AssertionError("unreachable");
  }

  /** What {@code nats-server --version} says, e.g. "v2.10.27". */
  String version() {
    try {
      Process p = new ProcessBuilder(binary().toString(), "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).strip();
      return out.substring(out.lastIndexOf(' ') + 1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** This generation is 2.{@code minor} or newer (2.10: index.db, tombstones, s2, the 10134 rule). */
  boolean atLeast(int minor) {
    return Integer.parseInt(name.substring(name.indexOf('.') + 1)) >= minor;
  }

  @Override public String toString() {
    return "nats-server " + name;
  }
}
