import java.time.Duration;
import java.util.concurrent.Callable;

/** Polls a condition until a deadline: servers settle asynchronously, and a fixed sleep is either too long or flaky. */
final class Await {
  private static final Duration INTERVAL = Duration.ofMillis(100);

  /**
   * Calls {@code pending} until it returns null. It returns a description of what is still missing, so a
   * timeout says what never happened. A checked exception (a refused connection, a request without a leader
   * yet) counts as "not yet" and is described the same way; an unchecked one ends the wait at once.
   */
  static void until(Duration timeout, String what, Callable<String> pending) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "nothing checked yet";
    while (true) {
      try {
        last = pending.call();
        if (last == null) return;
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        last = e.toString();
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out after " + timeout.toSeconds() + " s waiting for " + what + ": " + last);
      }
      try {
        Thread.sleep(INTERVAL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted waiting for " + what, e);
      }
    }
  }

  private Await() {}
}
