import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;

/**
 * The least any prepare must do to a store, timed: list every stream and consumer folder, read each meta.inf and
 * meta.sum once, and write each back (the same bytes, so the store is left as it was) as prepare must: a temp
 * file, fsync, rename over it; then one fsync per folder for the renames. No parsing, no hashing, no backup.
 */
final class IoFloor {
  record Result(long filesRead, long filesWritten, double seconds) {}

  private IoFloor() {}

  static Result run(Path jetstream, int threads) {
    long t0 = System.nanoTime();
    List<Path> dirs = new ArrayList<>();
    for (Path account : list(jetstream)) {
      for (Path stream : list(account.resolve("streams"))) {
        dirs.add(stream);
        for (Path consumer : list(stream.resolve("obs"))) dirs.add(consumer);
      }
    }
    ForkJoinPool pool = new ForkJoinPool(threads);
    try {
      long files = pool.submit(() -> dirs.parallelStream().mapToLong(IoFloor::rewrite).sum()).join();
      return new Result(files, files, (System.nanoTime() - t0) / 1e9);
    } finally {
      pool.shutdown();
    }
  }

  private static long rewrite(Path dir) {
    try {
      long n = 0;
      for (String name : new String[] {"meta.inf", "meta.sum"}) {
        Path file = dir.resolve(name);
        byte[] bytes = Files.readAllBytes(file);
        Path temp = dir.resolve(name + ".floor-tmp");
        try (FileChannel ch = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE))) {
          ByteBuffer buf = ByteBuffer.wrap(bytes);
          while (buf.hasRemaining()) ch.write(buf);
          ch.force(true);
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        n++;
      }
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      }
      return n;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<Path> list(Path dir) {
    List<Path> entries = new ArrayList<>();
    if (!Files.isDirectory(dir)) return entries;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) if (Files.isDirectory(p)) entries.add(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return entries;
  }
}
