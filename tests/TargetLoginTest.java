import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.NKey;
import io.nats.client.api.StreamInfo;
import io.nats.client.support.JwtUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * restore of a store with several accounts in one command, each account logging in to the new cluster as a user of
 * its own (one login reaches one account), and the logins the nats CLI takes: a .creds file against a target in
 * operator (JWT) mode. The store: $G's G_S, and ORDERS in both account A and account B, as a survivor of a cluster
 * with $G beside named accounts leaves it.
 */
@ParameterizedClass(name = "{0}")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@MethodSource("ServerGeneration#all")
class TargetLoginTest {
  @TempDir static Path tmp;
  @Parameter ServerGeneration generation;

  private Path store;
  private NatsCluster target;

  @BeforeParameterizedClassInvocation void storeWithThreeAccountsAndANewClusterWithThem() throws Exception {
    generation.binary(); // skips this generation, with the command that fetches it, when it is not here
    Path work = Files.createDirectories(tmp.resolve(generation.name()));
    NatsConfig original = NatsConfig.defaults().withAccount("A", "a", "a-pw").withAccount("B", "b", "b-pw");
    VerifyTest.fill(generation, NatsConfig.defaults(), "$G", work.resolve("store"), "G_S", 2);
    VerifyTest.fill(generation, original, "A", work.resolve("a/store"), "ORDERS", 3); // fill's server folder is per stream name
    VerifyTest.fill(generation, original, "B", work.resolve("b/store"), "ORDERS", 5);
    StoreBuilder.copyTree(work.resolve("a/store/jetstream/A"), work.resolve("store/jetstream/A"));
    StoreBuilder.copyTree(work.resolve("b/store/jetstream/B"), work.resolve("store/jetstream/B"));
    Cli.Result prepared = Cli.run("prepare", work.resolve("store").toString());
    assertEquals(0, prepared.exit(), prepared.all());
    store = work.resolve("store").toRealPath();
    // The new deployment names $G's streams' account GLOBAL: where each account goes is the login's choice.
    target = NatsCluster.start(generation, NatsConfig.defaults().withAccount("A", "new-a", "new-a-pw")
        .withAccount("B", "new-b", "new-b-pw").withAccount("GLOBAL", "new-g", "new-g-pw"));
  }

  @AfterParameterizedClassInvocation void shutDown() {
    if (target != null) target.close();
  }

  /** Each test starts from a new cluster whose accounts hold no stream. */
  @BeforeEach void emptyTarget() throws Exception {
    for (String account : List.of("GLOBAL", "A", "B")) {
      try (Connection nc = target.connect(account)) {
        JetStreamManagement jsm = nc.jetStreamManagement();
        for (String name : jsm.getStreamNames()) jsm.deleteStream(name);
      }
    }
  }

  private String hostPort() {
    return target.nodes().get(0).clientUrl().replace("nats://", "");
  }

  @Test void everyAccountGoesInOneCommandEachAsItsOwnUserAndOneBadLoginStopsOnlyItsAccount() throws Exception {
    String bin = generation.binary().toString();
    List<String> args = List.of("restore", "--nats-server", bin, "--to", "nats://new-g:new-g-pw@" + hostPort(),
        "--to", "A=nats://new-a:new-a-pw@" + hostPort());

    Cli.Result wrongB = Cli.run(TransferTest.concat(args, "--to", "B=nats://new-b:not-b-pw@" + hostPort(), store.toString()));
    Cli.Result r = Cli.run(TransferTest.concat(args, "--to", "B=nats://new-b:new-b-pw@" + hostPort(), store.toString()));

    assertEquals(1, wrongB.exit(), wrongB.all());
    assertTrue(wrongB.out().contains("NOT DONE B > ORDERS: cannot connect to nats://" + hostPort() + ": "), wrongB.out());
    assertTrue(wrongB.out().toLowerCase().contains("authorization violation"), wrongB.out());
    assertTrue(wrongB.out().matches("(?s).*\\$G +G_S +1 +restored.*"), wrongB.out());
    assertTrue(wrongB.out().matches("(?s).*A +ORDERS +1 +restored.*"), wrongB.out());
    assertTrue(wrongB.out().contains("  account $G: 1 of 1 stream(s) done\n  account A: 1 of 1 stream(s) done\n"
        + "  account B: 0 of 1 stream(s) done\n"), wrongB.out());
    assertTrue(wrongB.out().contains("2 of 3 stream(s) done; fix what is said above"), wrongB.out());
    // $G's server on recovery-global.conf first, then the named accounts' on recovery.conf, each stopped.
    assertTrue(wrongB.err().matches("(?s).* on " + java.util.regex.Pattern.quote(store.resolve("recovery-global.conf").toString())
        + " \\(.*The recovery server was stopped\\..* on " + java.util.regex.Pattern.quote(store.resolve("recovery.conf").toString())
        + " \\(.*The recovery server was stopped\\..*"), wrongB.err());

    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().matches("(?s).*\\$G +G_S +1 +already whole.*"), r.out());
    assertTrue(r.out().matches("(?s).*A +ORDERS +1 +already whole.*"), r.out());
    assertTrue(r.out().matches("(?s).*B +ORDERS +1 +restored.*"), r.out());
    assertTrue(r.out().contains("3 of 3 stream(s) done."), r.out());
    assertEquals(List.of(), TransferTest.serversOn(store), "restore left a server running");
    assertEquals(List.of("G_S 2: 0 1"), streams("GLOBAL"));
    assertEquals(List.of("ORDERS 3: 0 1 2"), streams("A"));
    assertEquals(List.of("ORDERS 5: 0 1 2 3 4"), streams("B"));
    RecoveryConfig.Settings conf = RecoveryConfig.read(store.resolve("recovery.conf"));
    for (String secret : List.of("new-a-pw", "new-b-pw", "new-g-pw", "not-b-pw", conf.login("A").password(), conf.login("B").password())) {
      assertFalse(wrongB.all().contains(secret) || r.all().contains(secret), "a password was printed");
    }
  }

  @Test void everyAccountIsBackedUpInAFolderOfItsOwnAndRestoredFromItAsItsOwnUser() throws Exception {
    Path backup = tmp.resolve(generation.name() + "-backup");
    List<String> logins = List.of("restore", "--to", "A=nats://new-a:new-a-pw@" + hostPort(), "--to", "B=nats://new-b:new-b-pw@" + hostPort());

    Cli.Result written = Cli.run("backup", "--nats-server", generation.binary().toString(), store.toString(), backup.toString());
    Cli.Result oneLogin = Cli.run("restore", "--from-backup", backup.toString(), "--to", "nats://new-g:new-g-pw@" + hostPort());
    Cli.Result r = Cli.run(TransferTest.concat(logins, "--from-backup", backup.toString(), "--to", "nats://new-g:new-g-pw@" + hostPort()));
    Cli.Result oneAccount = Cli.run("restore", "--from-backup", backup.resolve("B").toString(), "--to", "nats://new-b:new-b-pw@" + hostPort());

    assertEquals(0, written.exit(), written.all());
    for (String folder : List.of("$G/G_S", "A/ORDERS", "B/ORDERS")) {
      assertTrue(Files.isRegularFile(backup.resolve(folder).resolve("backup.json")), folder + " not written: " + written.all());
    }
    assertEquals(1, oneLogin.exit(), oneLogin.all());
    assertTrue(oneLogin.err().contains("accounts $G and A and B would log in to the new cluster as the same user"), oneLogin.all());
    assertEquals(0, r.exit(), r.all());
    assertTrue(r.out().contains("  account $G: 1 of 1 stream(s) done\n  account A: 1 of 1 stream(s) done\n"
        + "  account B: 1 of 1 stream(s) done\n"), r.out());
    assertEquals(List.of("G_S 2: 0 1"), streams("GLOBAL"));
    assertEquals(List.of("ORDERS 3: 0 1 2"), streams("A"));
    assertEquals(List.of("ORDERS 5: 0 1 2 3 4"), streams("B"));
    assertEquals(0, oneAccount.exit(), oneAccount.all());
    assertTrue(oneAccount.out().matches("(?s).*B +ORDERS +1 +already whole.*"), oneAccount.out());
  }

  /** Each stream of the target account: name, count and every payload's byte. */
  private List<String> streams(String account) throws Exception {
    List<String> all = new ArrayList<>();
    try (Connection nc = target.connect(account)) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      for (String name : jsm.getStreamNames()) {
        StreamInfo info = jsm.getStreamInfo(name);
        StringBuilder s = new StringBuilder(name + " " + info.getStreamState().getMsgCount() + ":");
        for (long seq = 1; seq <= info.getStreamState().getLastSequence(); seq++) s.append(' ').append(jsm.getMessage(name, seq).getData()[0]);
        all.add(s.toString());
      }
    }
    return all;
  }

  @Test void aCredsFileLogsInToATargetInOperatorMode() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(generation.name() + "-operator"));
    NKey operator = NKey.createOperator(null), account = NKey.createAccount(null), system = NKey.createAccount(null);
    NKey user = NKey.createUser(null), stranger = NKey.createAccount(null);
    String accountJwt = jwt(operator, account, "APP", "{\"limits\":{\"subs\":-1,\"data\":-1,\"payload\":-1,\"imports\":-1,"
        + "\"exports\":-1,\"wildcards\":true,\"conn\":-1,\"leaf\":-1,\"mem_storage\":-1,\"disk_storage\":-1,\"streams\":-1,"
        + "\"consumer\":-1},\"type\":\"account\",\"version\":2}");
    String systemJwt = jwt(operator, system, "SYS", "{\"limits\":{\"subs\":-1,\"data\":-1,\"payload\":-1,\"imports\":-1,"
        + "\"exports\":-1,\"wildcards\":true,\"conn\":-1,\"leaf\":-1},\"type\":\"account\",\"version\":2}");
    String extra = "operator: " + jwt(operator, operator, "OP", "{\"type\":\"operator\",\"version\":2}") + "\n"
        + "system_account: " + new String(system.getPublicKey()) + "\n"
        + "resolver: MEMORY\n"
        + "resolver_preload: {\n  " + new String(account.getPublicKey()) + ": " + accountJwt + "\n  "
        + new String(system.getPublicKey()) + ": " + systemJwt + "\n}\n";
    Path creds = creds(dir.resolve("app.creds"), account, user);
    Path strangerCreds = creds(dir.resolve("stranger.creds"), stranger, NKey.createUser(null)); // an account the target does not know
    Path garbled = Files.writeString(dir.resolve("garbled.creds"), "-----BEGIN NATS USER JWT-----\nnot a jwt\n");
    try (NatsServerProcess to = NatsServerProcess.start(generation, "operator-target", NatsConfig.defaults(), dir.resolve("store"),
        extra, dir.resolve("server"))) {
      List<String> args = List.of("restore", "--nats-server", generation.binary().toString(), "--account", "A", "--to", to.clientUrl());

      Cli.Result missing = Cli.run(TransferTest.concat(args, "--creds", dir.resolve("nope.creds").toString(), store.toString()));
      Cli.Result bad = Cli.run(TransferTest.concat(args, "--creds", garbled.toString(), store.toString()));
      Cli.Result unknown = Cli.run(TransferTest.concat(args, "--creds", strangerCreds.toString(), store.toString()));
      Cli.Result r = Cli.run(TransferTest.concat(args, "--creds", creds.toString(), store.toString()));

      assertEquals(1, missing.exit(), missing.all());
      assertTrue(missing.out().contains("NOT DONE A > ORDERS: --creds " + dir.resolve("nope.creds") + " is not a readable file"),
          missing.out());
      assertEquals(1, bad.exit(), bad.all());
      assertTrue(bad.out().contains("NOT DONE A > ORDERS: cannot use the credentials or TLS files given: --creds " + garbled
          + " is not a credentials file: it needs the user JWT and the nkey seed, each between the -----BEGIN and "
          + "------END lines nsc writes"), bad.out());
      assertEquals(1, unknown.exit(), unknown.all());
      assertTrue(unknown.out().contains("NOT DONE A > ORDERS: cannot connect to " + to.clientUrl() + ": "), unknown.out());
      assertTrue(unknown.out().toLowerCase().contains("authorization violation"), unknown.out());
      assertEquals(0, r.exit(), r.all());
      assertTrue(r.out().matches("(?s).*A +ORDERS +1 +restored.*"), r.out());
      for (Cli.Result each : List.of(missing, bad, unknown, r)) {
        assertFalse(each.all().contains(new String(user.getSeed())), "a seed was printed: " + each.all());
        assertFalse(each.all().contains("eyJ"), "a JWT was printed: " + each.all());
      }
      io.nats.client.Options options = io.nats.client.Options.builder().server(to.clientUrl())
          .authHandler(io.nats.client.Nats.credentials(creds.toString())).build();
      try (Connection nc = io.nats.client.Nats.connect(options)) {
        assertEquals(3, nc.jetStreamManagement().getStreamInfo("ORDERS").getStreamState().getMsgCount());
      }
    }
  }

  /** A JWT of {@code subject}, signed by {@code issuer}, with these claims under "nats" (what nsc writes). */
  private static String jwt(NKey issuer, NKey subject, String name, String nats) throws Exception {
    return JwtUtils.issueJWT(issuer, new String(subject.getPublicKey()), name, null, JwtUtils.currentTimeSeconds(),
        new String(issuer.getPublicKey()), () -> nats);
  }

  /** A .creds file as nsc writes it: the user's JWT, signed by its account, and the user's seed. */
  private static Path creds(Path file, NKey account, NKey user) throws Exception {
    String userJwt = JwtUtils.issueUserJWT(account, new String(account.getPublicKey()), new String(user.getPublicKey()));
    return Files.writeString(file, "-----BEGIN NATS USER JWT-----\n" + userJwt + "\n------END NATS USER JWT------\n\n"
        + "************************* IMPORTANT *************************\nNKEY Seed printed below can be used to sign and "
        + "prove identity.\nNKEYs are sensitive and should be treated as secrets.\n\n-----BEGIN USER NKEY SEED-----\n"
        + new String(user.getSeed()) + "\n------END USER NKEY SEED------\n\n*************************************************************\n");
  }
}
