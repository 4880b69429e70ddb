import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * js-recover as its own process, for what an in-process run cannot show: being killed mid-run,
 * and running as an unprivileged user. It runs the classes the test suite was compiled with.
 */
final class JsRecoverProcess {
  private JsRecoverProcess() {}

  static ProcessBuilder builder(String... args) {
    List<String> cmd = new ArrayList<>(List.of(javaBin(), "-cp", System.getProperty("java.class.path"), "JsRecover"));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true);
  }

  /**
   * The same, as the unprivileged user nobody (tests run as root in CI, and root reads everything).
   * The class path is copied where nobody can read it.
   */
  static ProcessBuilder asNobody(Path scratch, String... args) {
    try {
      Path lib = Files.createDirectories(scratch.resolve("nobody-lib"));
      Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(lib, PosixFilePermissions.fromString("rwxr-xr-x"));
      List<String> cp = new ArrayList<>();
      for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
        Path src = Path.of(entry);
        Path dst = lib.resolve(cp.size() + "-" + src.getFileName());
        Files.copy(src, dst);
        Files.setPosixFilePermissions(dst, PosixFilePermissions.fromString("rw-r--r--"));
        cp.add(dst.toString());
      }
      List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
          "--reset-env", javaBin(), "-cp", String.join(java.io.File.pathSeparator, cp), "JsRecover"));
      cmd.addAll(List.of(args));
      return new ProcessBuilder(cmd).redirectErrorStream(true);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  record Result(int exit, String output) {}

  static Result run(ProcessBuilder pb) {
    try {
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes());
      return new Result(p.waitFor(), out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static String javaBin() { return ProcessHandle.current().info().command().orElse("java"); }
}
