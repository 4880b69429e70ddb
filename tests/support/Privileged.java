import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Assumptions;

/**
 * What only root can set up, for tests of what an operator meets on real hosts: a small or
 * read-only file system (tmpfs), and a file nobody may change, root included (chattr +i: root
 * bypasses permission bits). Tests that need them are skipped when not run as root.
 */
final class Privileged {
  private Privileged() {}

  static boolean root() { return "root".equals(System.getProperty("user.name")); }

  static void run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A tmpfs of {@code size} (mount's syntax: 512k, 1m) on {@code dir}; unmounted on close. */
  static final class Tmpfs implements AutoCloseable {
    final Path dir;

    Tmpfs(Path dir, String size) throws IOException {
      Assumptions.assumeTrue(root(), "mounting a tmpfs needs root");
      this.dir = Files.createDirectories(dir);
      run("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0755", "tmpfs", dir.toString());
    }

    void readOnly() { run("mount", "-o", "remount,ro", dir.toString()); }

    /** Fills the file system but about {@code leave} bytes with one file. */
    void fillLeaving(long leave) throws IOException {
      long free = Files.getFileStore(dir).getUsableSpace();
      Files.write(dir.resolve("filler"), new byte[(int) Math.max(0, free - leave)]);
    }

    /** Fills the file system to the last byte: the next write gets ENOSPC. */
    void fill() {
      try (java.io.OutputStream out = Files.newOutputStream(dir.resolve("filler-full"))) {
        byte[] chunk = new byte[4096];
        while (true) out.write(chunk);
      } catch (IOException full) {
        // No space left on device: what was wanted
      }
    }

    void unfill() throws IOException { Files.deleteIfExists(dir.resolve("filler-full")); }

    @Override public void close() { run("umount", "-l", dir.toString()); }
  }

  /** Makes a file or folder unchangeable, by root too; undone on close. */
  static AutoCloseable immutable(Path p) throws IOException {
    if (!root()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "r-xr-xr-x" : "r--r--r--"));
      return () -> Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
    }
    run("chattr", "+i", p.toString());
    return () -> run("chattr", "-i", p.toString());
  }
}
