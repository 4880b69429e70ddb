///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//SOURCES ../js-recover.java
//SOURCES *Test.java
//SOURCES support/*.java
//DEPS org.junit.jupiter:junit-jupiter:5.14.4
//DEPS org.junit.platform:junit-platform-launcher:1.14.4
//DEPS io.nats:jnats:2.26.2
//MAIN RunTests

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClasspathRoots;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * The test command of the README and of CI: runs every JUnit 5 test class in tests/ (or only the
 * classes named on the command line) and ends with the line "N passed, N failed, N skipped".
 */
public class RunTests {
  public static void main(String[] args) throws Exception {
    LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
    if (args.length == 0) {
      Path jar = Path.of(RunTests.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      request.selectors(selectClasspathRoots(Set.of(jar)))
          .filters(org.junit.platform.engine.discovery.ClassNameFilter.includeClassNamePatterns(".*Test"));
    } else {
      request.selectors(Arrays.stream(args).map(name -> name.contains("#")
          ? DiscoverySelectors.selectMethod(name) : selectClass(name)).toList());
    }
    LauncherDiscoveryRequest discovery = request.build();

    AtomicInteger passed = new AtomicInteger(), failed = new AtomicInteger(), skipped = new AtomicInteger();
    java.util.Map<String, Long> generationMillis = new java.util.TreeMap<>();
    TestExecutionListener report = new TestExecutionListener() {
      final java.util.Map<String, Long> started = new java.util.concurrent.ConcurrentHashMap<>();

      final java.util.Map<String, TestIdentifier> running = new java.util.concurrent.ConcurrentHashMap<>();

      @Override public void executionStarted(TestIdentifier test) {
        started.put(test.getUniqueId(), System.nanoTime());
        running.put(test.getUniqueId(), test);
      }

      @Override public void executionSkipped(TestIdentifier test, String reason) {
        if (!test.isTest()) return;
        skipped.incrementAndGet();
        System.out.printf("SKIP %s: %s%n", name(test), reason);
      }

      @Override public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        long ms = (System.nanoTime() - started.getOrDefault(test.getUniqueId(), System.nanoTime())) / 1_000_000;
        if (!test.isTest()) {
          // One run of a suite parameterised by server generation ("nats-server 2.10"): its time counts for that generation.
          if (test.getDisplayName().startsWith("nats-server ") && result.getStatus() != TestExecutionResult.Status.ABORTED) {
            generationMillis.merge(test.getDisplayName(), ms, Long::sum);
            System.out.printf("TIME %s: %.1f s%n", name(test), ms / 1000.0);
          }
          // A class skipped as a whole (no nats-server outside CI) is a skip; a failing @BeforeAll
          // or static initialiser fails the whole class: count it, say why.
          if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
            skipped.incrementAndGet();
            System.out.printf("SKIP %s: %s%n", name(test),
                result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
          } else if (result.getStatus() == TestExecutionResult.Status.FAILED) {
            failed.incrementAndGet();
            System.out.printf("FAIL %s (container)%n", name(test));
            result.getThrowable().ifPresent(Throwable::printStackTrace);
          }
          return;
        }
        switch (result.getStatus()) {
          case SUCCESSFUL -> { passed.incrementAndGet(); System.out.printf("PASS %s (%d ms)%n", name(test), ms); }
          case ABORTED -> {
            skipped.incrementAndGet();
            System.out.printf("SKIP %s: %s%n", name(test),
                result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
          }
          case FAILED -> {
            failed.incrementAndGet();
            System.out.printf("FAIL %s (%d ms)%n", name(test), ms);
            result.getThrowable().ifPresent(Throwable::printStackTrace);
          }
        }
        System.out.flush();
      }

      String name(TestIdentifier test) {
        String uid = test.getUniqueId();
        java.util.regex.Matcher c = java.util.regex.Pattern.compile("\\[class(?:-template)?:([^\\]]*)\\]").matcher(uid);
        String cls = c.find() ? c.group(1) : "";
        // A test of a suite run once per server generation names its generation: "QuorumLossTest [nats-server 2.10] > …".
        for (TestIdentifier up = test; up != null; up = up.getParentId().map(running::get).orElse(null)) {
          if (up != test && up.getDisplayName().startsWith("nats-server ")) cls += " [" + up.getDisplayName() + "]";
        }
        return cls + " > " + test.getDisplayName();
      }
    };

    LauncherFactory.create().execute(discovery, report);
    generationMillis.forEach((generation, ms) -> System.out.printf("%s: real-server suites took %.1f s%n", generation, ms / 1000.0));
    int total = passed.get() + failed.get() + skipped.get();
    if (total == 0) System.out.println("no test was found");
    System.out.printf("%d passed, %d failed, %d skipped%n", passed.get(), failed.get(), skipped.get());
    System.exit(failed.get() == 0 && passed.get() > 0 ? 0 : 1);
  }
}
