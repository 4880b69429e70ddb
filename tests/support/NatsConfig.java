import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The part of a nats-server config that every server of one deployment shares and that a recovery server must
 * repeat: the accounts, the system account and the JetStream encryption key. Immutable; each {@code with…} returns
 * a new value. The default is what a server without any of these uses: every client in {@code $G}, the system
 * account {@code $SYS}, no encryption.
 */
final class NatsConfig {
  /** A config-mode account with one user that clients of these tests log in as. */
  record Account(String name, boolean jetstream, String user, String password) {}

  private final List<Account> accounts;
  private final String systemAccount;
  private final String key;
  private final String cipher;

  private NatsConfig(List<Account> accounts, String systemAccount, String key, String cipher) {
    this.accounts = List.copyOf(accounts);
    this.systemAccount = systemAccount;
    this.key = key;
    this.cipher = cipher;
  }

  static NatsConfig defaults() {
    return new NatsConfig(List.of(), null, null, null);
  }

  /** Adds an account whose streams live in {@code jetstream/<name>/}; its user is {@code user}/{@code password}. */
  NatsConfig withAccount(String name, String user, String password) {
    List<Account> more = new ArrayList<>(accounts);
    more.add(new Account(name, true, user, password));
    return new NatsConfig(more, systemAccount, key, cipher);
  }

  /** Names the system account (no JetStream there; a cluster keeps its Raft state in {@code jetstream/<name>/_js_/}). */
  NatsConfig withSystemAccount(String name, String user, String password) {
    List<Account> more = new ArrayList<>(accounts);
    more.add(new Account(name, false, user, password));
    return new NatsConfig(more, name, key, cipher);
  }

  /** Encrypts the store at rest: {@code jetstream { key: …, cipher: chacha|aes }}. */
  NatsConfig withEncryption(String key, String cipher) {
    return new NatsConfig(accounts, systemAccount, key, cipher);
  }

  /** The accounts that hold streams: the configured JetStream accounts, or {@code $G} when none are configured. */
  List<String> jetStreamAccounts() {
    List<String> names = accounts.stream().filter(Account::jetstream).map(Account::name).toList();
    return names.isEmpty() ? List.of("$G") : names;
  }

  String systemAccount() {
    return systemAccount != null ? systemAccount : "$SYS";
  }

  /** The account's login, empty for {@code $G}, where clients connect without credentials. */
  Optional<Account> login(String account) {
    return accounts.stream().filter(a -> a.name().equals(account)).findFirst();
  }

  /** The shared config text: accounts, system account and a jetstream block that stores in {@code storeDir}. */
  String render(Path storeDir) {
    StringBuilder conf = new StringBuilder();
    if (!accounts.isEmpty()) {
      conf.append("accounts {\n");
      for (Account a : accounts) {
        conf.append("  ").append(a.name()).append(" {")
            .append(a.jetstream() ? " jetstream: enabled," : "")
            .append(" users: [ { user: ").append(quote(a.user())).append(", password: ").append(quote(a.password()))
            .append(" } ] }\n");
      }
      conf.append("}\n");
    }
    if (systemAccount != null) conf.append("system_account: ").append(systemAccount).append('\n');
    conf.append("jetstream {\n  store_dir: ").append(quote(storeDir.toString())).append('\n');
    if (key != null) conf.append("  key: ").append(quote(key)).append("\n  cipher: ").append(cipher).append('\n');
    conf.append("}\n");
    return conf.toString();
  }

  static String quote(String s) {
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }
}
