import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * {@code @ExtendWith(NatsServerInstalled.class)} on a test class that needs the installed nats-server (2.9): without
 * one the class is skipped with the install command, except in CI (env CI=true), where a missing server is a failure
 * (ServerGeneration decides, as for every generation).
 */
final class NatsServerInstalled implements BeforeAllCallback {
  @Override public void beforeAll(ExtensionContext context) {
    ServerGeneration.installed().binary();
  }
}
