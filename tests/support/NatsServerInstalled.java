import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * {@code @ExtendWith(NatsServerInstalled.class)} on a test class that needs a real nats-server: without one the
 * class is skipped with the install command, except in CI (env CI=true), where a missing server is a failure.
 */
final class NatsServerInstalled implements BeforeAllCallback {
  @Override public void beforeAll(ExtensionContext context) {
    if (NatsServerProcess.findBinary().isPresent()) return;
    if ("true".equals(System.getenv("CI"))) Assertions.fail(NatsServerProcess.INSTALL_HINT);
    Assumptions.abort(NatsServerProcess.INSTALL_HINT);
  }
}
