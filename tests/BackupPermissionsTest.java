import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The backup holds the store's bytes: it is no more readable than the store, and never opens what the store seals. */
class BackupPermissionsTest {
  @TempDir Path tmp;

  /** A store as nats-server leaves it: folders 0750, files 0640. */
  StoreBuilder survivor() throws Exception {
    StoreBuilder store = new StoreBuilder(tmp.resolve("store")).stream("$G", "ORDERS", 3).consumer("$G", "ORDERS", "C", 3)
        .raft("$SYS");
    try (Stream<Path> all = Files.walk(store.storeDir)) {
      for (Path p : all.toList()) {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-x---" : "rw-r-----"));
      }
    }
    return store;
  }

  @Test
  void backupFoldersAndFilesAreNoMoreReadableThanTheStoreAndOwnedLikeIt() throws Exception {
    StoreBuilder store = survivor();
    if (Privileged.root()) Privileged.run("chown", "-R", "nobody:nogroup", store.storeDir.toString());

    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());

    Path backups = store.storeDir.resolve("js-recover-backup");
    try (Stream<Path> all = Files.walk(backups)) {
      for (Path p : all.toList()) {
        if (p.toString().contains("/raft/jetstream/$SYS/_js_")) continue; // moved as it was, with its own modes
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
        assertEquals(Files.isDirectory(p) ? "rwxr-x---" : "rw-r-----", mode, p.toString());
        if (Privileged.root()) {
          Map<String, Object> owner = Files.readAttributes(p, "unix:uid,gid", LinkOption.NOFOLLOW_LINKS);
          assertEquals(Map.of("uid", 65534, "gid", 65534), owner, p.toString());
        }
      }
    }
  }

  @Test
  void aStricterFileMakesTheBackupFilesStricter() throws Exception {
    StoreBuilder store = survivor();
    Files.setPosixFilePermissions(store.consumerDir("$G", "ORDERS", "C").resolve("meta.inf"), PosixFilePermissions.fromString("rw-------"));

    assertEquals(0, Cli.run("prepare", store.storeDir.toString()).exit());

    try (Stream<Path> runs = Files.list(store.storeDir.resolve("js-recover-backup"))) {
      Path run = runs.findFirst().orElseThrow();
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(run.resolve("originals.zip"))));
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(run.resolve("manifest.json"))));
    }
  }

  @Test
  void theManifestOfAnEncryptedStoreRecordsWhichFieldsChangedNotTheirValues() throws Exception {
    EncryptedStoreTest.Fixture f = EncryptedStoreTest.CHACHA;
    StoreBuilder store = new StoreBuilder(tmp.resolve("store"));
    Path streamDir = store.streamDir(f.account(), f.stream());
    StoreBuilder.copyTree(EncryptedStoreTest.FIXTURES.resolve(f.folder()), streamDir);
    EncryptedStoreTest.reseal(f, streamDir, f.stream(), f.stream(), cfg -> {
      cfg.put("num_replicas", 3);
      cfg.putObject("placement").put("cluster", "SECRET-CLUSTER").putArray("tags").add("secret-tag");
    });
    Path key = Files.writeString(tmp.resolve("key"), f.key());

    Cli.Result r = Cli.run("prepare", "--key-file", key.toString(), store.storeDir.toString());

    assertEquals(0, r.exit(), r.all());
    Path run;
    try (Stream<Path> runs = Files.list(store.storeDir.resolve("js-recover-backup"))) {
      run = runs.findFirst().orElseThrow();
    }
    String text = Files.readString(run.resolve("manifest.json"));
    assertFalse(text.contains("SECRET-CLUSTER") || text.contains("secret-tag"), text);
    JsonNode fields = Json.MAPPER.readTree(text).get("changes").get(0).get("fields");
    assertEquals("num_replicas", fields.get(0).get("field").asText());
    assertFalse(fields.get(0).has("from"), text);
    assertEquals("placement", fields.get(1).get("field").asText());
    assertTrue(fields.get(1).get("removed").asBoolean(), text);
    assertEquals("not recorded: the config is encrypted", fields.get(1).get("values").asText());
    assertEquals(3, Json.MAPPER.readTree(text).get("streams").get(0).get("replicas").asInt(), "the restore needs the count");
  }
}
