import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.support.JsonParser;
import io.nats.client.support.JsonValue;
import io.nats.client.support.JsonValueUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What {@code js-recover prepare} hands the operator after a quorum loss: recovery.conf, the verify command and the
 * printed next steps, checked on the store of a real 3-node cluster with two JetStream accounts (holding streams of
 * the same names, with different contents) and a named system account. One incident for the whole class: the
 * cluster is filled, the truth recorded, two nodes SIGKILLed, the survivor stopped with SIGTERM, its store copied
 * and prepared; the tests then follow the runbook on that copy. Once per server generation (2.9, 2.10, 2.15).
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RecoveryConfClusterTest {
  private static final NatsConfig ACCOUNTS = NatsConfig.defaults()
      .withAccount("ACC_A", "alice", "alice-pw")
      .withAccount("ACC_B", "bob", "bob-pw")
      .withSystemAccount("SYSX", "sys", "sys-pw");
  private static final Duration LOAD_TIMEOUT = Duration.ofSeconds(30);

  @TempDir static Path tmp;
  /** The generation this run of the class tests, and its own folder. */
  @Parameter ServerGeneration generation;
  private Path work;

  private final List<AutoCloseable> cleanup = new ArrayList<>();
  /** What the survivor held before the incident, in both accounts. */
  private JetStreamTruth expected;
  /** The survivor's store, copied after it stopped, and what prepare printed for it. */
  private Path copy;
  private Cli.Result prepared;

  @BeforeParameterizedClassInvocation void incident() throws Exception {
    work = Files.createDirectories(tmp.resolve(generation.name()));
    generation.binary(); // skips this generation, with the command that fetches it, when it is not here
    NatsCluster cluster = NatsCluster.start(generation, ACCOUNTS);
    cleanup.add(cluster);
    for (String account : ACCOUNTS.jetStreamAccounts()) {
      try (Connection nc = cluster.connect(account)) {
        Workload workload = new Workload(nc);
        workload.coreStreams();
        if (account.equals("ACC_B")) {
          // Same stream names, different contents: a login that lands in the wrong account reads other messages.
          workload.publish("orders.b-only", 3);
          workload.consume("ORDERS", "R3EXPL", 4, 4);
        }
      }
    }
    cluster.awaitReplicasCurrent();
    JetStreamTruth truth = JetStreamTruth.read(ACCOUNTS, cluster::connect);
    // The survivor is the host of ACC_A's R1 stream; ACC_B's R1 stream may be lost with the other nodes.
    String survivor = truth.stream("ACC_A", "SINGLE").orElseThrow().nodes().get(0);
    cluster.nodes().stream().filter(n -> !n.name().equals(survivor)).forEach(NatsServerProcess::kill);
    cluster.node(survivor).stop();
    expected = truth.hostedBy(survivor);
    assertEquals(List.of("ACC_A", "ACC_B"), expected.streams().stream().map(JetStreamTruth.StreamTruth::account).distinct().toList());
    copy = cluster.node(survivor).copyStoreTo(work.resolve("store"));

    prepared = Cli.run("prepare", copy.toString());
    assertEquals(0, prepared.exit(), "js-recover prepare failed:\n" + prepared.all());
  }

  @AfterParameterizedClassInvocation void shutDown() throws Exception {
    Collections.reverse(cleanup);
    for (AutoCloseable resource : cleanup) resource.close();
    cleanup.clear();
  }

  @Test @Order(1)
  void recoveryConfAloneLoadsEveryStreamAndConsumerOfEveryAccount() throws Exception {
    // The operator starts nats-server on the generated file, nothing else, and logs in with the users it defines.
    Path conf = copy.resolve("recovery.conf");
    RecoveryConfig.Settings settings = RecoveryConfig.read(conf);
    assertNotNull(settings, "prepare wrote no recovery.conf it can read back");
    for (String account : ACCOUNTS.jetStreamAccounts()) {
      assertNotNull(settings.login(account), "recovery.conf has no login for " + account);
      assertEquals("recover-" + account, settings.login(account).user());
    }
    Path log = work.resolve("recovery-conf-server.log");
    try (HandStartedServer server = HandStartedServer.start(log, settings.httpPort(), LOAD_TIMEOUT,
        generation.binary().toString(), "-c", conf.toString())) {
      JsonValue varz = JsonParser.parse(server.get("/varz"));
      assertEquals("127.0.0.1", JsonValueUtils.readString(varz, "host"), "the recovery server listens beyond loopback");
      assertEquals(settings.port(), JsonValueUtils.readInteger(varz, "port", -1));

      JetStreamTruth served = JetStreamTruth.read(ACCOUNTS, account -> login(settings, account));
      JetStreamTruth.Comparison comparison = expected.compareWith(served);
      comparison.redelivery().forEach(line -> System.out.println("redelivery after recovery: " + line));
      assertEquals(List.of(), comparison.problems(), "the server on recovery.conf does not serve what the cluster held");
      assertEquals(List.of(), server.loadErrors(), "the server on recovery.conf could not load part of the store; log: " + log);
    }
  }

  @Test @Order(2)
  void verifyReportsEveryStreamOfEveryAccountLoaded() throws Exception {
    Cli.Result r = Cli.run("verify", "--nats-server", generation.binary().toString(),
        "--timeout", String.valueOf(LOAD_TIMEOUT.toSeconds()), copy.toString());

    assertEquals(0, r.exit(), r.all());
    int consumers = expected.streams().stream().mapToInt(s -> s.consumers().size()).sum();
    assertTrue(r.out().contains("All " + expected.streams().size() + " stream(s) and " + consumers + " consumer(s) on disk loaded."), r.out());
    for (JetStreamTruth.StreamTruth s : expected.streams()) {
      // ACCOUNT  STREAM  LOADED  MESSAGES  CONSUMERS LOADED/ON DISK  NOT LOADED
      int c = s.consumers().size();
      String row = "(?m)^" + Pattern.quote(s.account()) + " +" + Pattern.quote(s.name()) + " +yes +" + s.messages()
          + " +" + c + "/" + c + " *$";
      assertTrue(Pattern.compile(row).matcher(r.out()).find(), "no row for " + s.id() + " with " + s.messages()
          + " messages and " + c + "/" + c + " consumers:\n" + r.out());
    }
  }

  @Test @Order(3)
  void recoveryConfIsPrivateAndLoopbackOnlyAndTheNextStepsNameEveryAccountAndStream() throws Exception {
    Path conf = copy.resolve("recovery.conf");
    String text = Files.readString(conf);
    RecoveryConfig.Settings settings = RecoveryConfig.read(conf);

    // It holds one password per account: readable by its owner only.
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(conf)));
    // Every address it listens on is loopback, and it joins nothing: no cluster, gateway, leaf node, MQTT or websocket.
    Matcher listeners = Pattern.compile("(?m)^\\s*(listen|http|https|host|net|addr|port|http_port|https_port|monitor_port)\\s*[:=].*$").matcher(text);
    List<String> found = new ArrayList<>();
    while (listeners.find()) found.add(listeners.group().strip());
    assertEquals(List.of("listen: 127.0.0.1:" + settings.port(), "http: 127.0.0.1:" + settings.httpPort()), found, text);
    Matcher blocks = Pattern.compile("(?m)^\\s*\"?(cluster|routes|gateway|gateways|leafnodes|leaf|mqtt|websocket|ws)\"?\\s*[:={]").matcher(text);
    assertFalse(blocks.find(), "recovery.conf reaches beyond this server:\n" + text);

    // Step 3: one backup per account, logged in as that account's recovery user.
    List<List<String>> lines = prepared.out().lines().filter(l -> l.strip().startsWith("nats "))
        .map(RecoveryConfClusterTest::words).toList();
    for (String account : ACCOUNTS.jetStreamAccounts()) {
      List<String> backup = List.of("nats", "--server", "nats://127.0.0.1:" + settings.port(), "--user", "recover-" + account,
          "--password", settings.login(account).password(), "account", "backup", copy + "-backup/" + account, "-f");
      assertTrue(lines.contains(backup), "no line " + String.join(" ", backup) + " in:\n" + prepared.out());
    }
    // Step 4: one restore per stream, with the replica count it had in the cluster.
    List<List<String>> restores = lines.stream().filter(w -> w.contains("restore"))
        .map(w -> w.subList(w.indexOf("stream"), w.size())).toList();
    for (JetStreamTruth.StreamTruth s : expected.streams()) {
      List<String> restore = List.of("stream", "restore", copy + "-backup/" + s.account() + "/" + s.name(), "--replicas",
          String.valueOf(s.replicas()));
      assertTrue(restores.contains(restore), "no line nats … " + String.join(" ", restore) + " in:\n" + prepared.out());
    }
    assertEquals(expected.streams().size(), restores.size(), "one restore per stream:\n" + prepared.out());
  }

  // ---- the operator's tools ----

  /** A client logged in to {@code account} with the user recovery.conf defines for it. */
  private Connection login(RecoveryConfig.Settings settings, String account) throws Exception {
    RecoveryConfig.Login login = settings.login(account);
    return Nats.connect(Options.builder().server("nats://127.0.0.1:" + settings.port())
        .userInfo(login.user(), login.password()).connectionTimeout(Duration.ofSeconds(5)).build());
  }

  /**
   * The words a POSIX shell makes of a printed command line: quotes and backslashes resolved, a comment dropped.
   * Unquoted control characters ({@code & ; | < > ( )}) are words of their own, so a path printed without the
   * quotes it needs does not read back as one word.
   */
  static List<String> words(String line) {
    List<String> words = new ArrayList<>();
    StringBuilder word = null;
    for (int i = 0; i < line.length(); i++) {
      char ch = line.charAt(i);
      if (ch == '\'') {
        int end = line.indexOf('\'', i + 1);
        if (end < 0) throw new IllegalArgumentException("unterminated ' in " + line);
        word = (word == null ? new StringBuilder() : word).append(line, i + 1, end);
        i = end;
      } else if (ch == '"') {
        word = word == null ? new StringBuilder() : word;
        for (i++; i < line.length() && line.charAt(i) != '"'; i++) {
          if (line.charAt(i) == '\\' && i + 1 < line.length() && "$`\"\\".indexOf(line.charAt(i + 1)) >= 0) i++;
          word.append(line.charAt(i));
        }
        if (i >= line.length()) throw new IllegalArgumentException("unterminated \" in " + line);
      } else if (ch == '\\' && i + 1 < line.length()) {
        word = (word == null ? new StringBuilder() : word).append(line.charAt(++i));
      } else if (Character.isWhitespace(ch)) {
        if (word != null) words.add(word.toString());
        word = null;
      } else if (ch == '#' && word == null) {
        break;
      } else if ("&;|<>()".indexOf(ch) >= 0) {
        if (word != null) words.add(word.toString());
        word = null;
        words.add(String.valueOf(ch));
      } else {
        word = (word == null ? new StringBuilder() : word).append(ch);
      }
    }
    if (word != null) words.add(word.toString());
    return words;
  }
}
