import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * cp -a of a survivor whose jetstream/ (or whole store dir) is a link copies the link: the "copy" is the
 * original. Whatever form the argument takes, no command may reach the original through it.
 */
class LinkedArgumentTest {
  @TempDir Path tmp;
  StoreBuilder original;
  String before;

  @BeforeEach
  void survivorWithALinkedJetstreamFolder() throws Exception {
    original = new StoreBuilder(tmp.resolve("var-lib-nats")).stream("$G", "ORDERS", 3).consumer("$G", "ORDERS", "C", 3)
        .raft("$SYS");
    before = StoreBuilder.treeDigest(tmp);
  }

  /** Runs the command on the argument: refused, naming the link, with nothing changed anywhere. */
  void refused(String command, String argument, Path link) {
    List<String> args = new java.util.ArrayList<>(List.of(command.split(" ")));
    args.add(argument);
    Cli.Result r = Cli.run(args.toArray(String[]::new));
    assertEquals(1, r.exit(), r.all());
    assertTrue(r.err().contains(link + " is a symbolic link"), r.err());
    assertTrue(r.err().contains("this may be the original store"), r.err());
    assertTrue(r.err().contains("nothing was changed"), r.err());
    assertEquals(before, StoreBuilder.treeDigest(tmp), command + " changed something");
    assertFalse(Files.exists(original.storeDir.resolve("js-recover-backup")));
    assertFalse(Files.exists(original.storeDir.resolve("recovery.conf")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"inspect", "prepare", "prepare --dry-run", "verify"})
  void theCopysJetstreamFolderIsALink(String command) throws Exception {
    Path copy = Files.createDirectories(tmp.resolve("copy"));
    Path link = Files.createSymbolicLink(copy.resolve("jetstream"), original.jetstream());
    before = StoreBuilder.treeDigest(tmp);
    refused(command, copy.resolve("jetstream").toString(), link);
    refused(command, copy.resolve("jetstream") + "/", link);
    refused(command, copy.toString(), link);
  }

  @ParameterizedTest
  @ValueSource(strings = {"inspect", "prepare", "verify"})
  void theParentOfALinkedJetstreamFolder(String command) throws Exception {
    Path copy = Files.createDirectories(tmp.resolve("copy"));
    Path link = Files.createSymbolicLink(copy.resolve("jetstream"), original.jetstream());
    before = StoreBuilder.treeDigest(tmp);
    refused(command, copy.resolve("jetstream") + "/..", link); // the kernel climbs to var-lib-nats, not to copy
  }

  @ParameterizedTest
  @ValueSource(strings = {"inspect", "prepare", "verify"})
  void theCopyItselfIsALink(String command) throws Exception {
    Path link = Files.createSymbolicLink(tmp.resolve("copy"), original.storeDir);
    before = StoreBuilder.treeDigest(tmp);
    refused(command, link.toString(), link);
    refused(command, link + "/jetstream", link);
    refused(command, link + "/.", link);
  }

  @ParameterizedTest
  @ValueSource(strings = {"inspect", "prepare"})
  void aWorkingDirReachedThroughALink(String command) throws Exception {
    Path copy = Files.createDirectories(tmp.resolve("copy"));
    Path link = Files.createSymbolicLink(copy.resolve("jetstream"), original.jetstream());
    before = StoreBuilder.treeDigest(tmp);
    List<String> args = new java.util.ArrayList<>(List.of(command, "."));
    ProcessBuilder pb = JsRecoverProcess.builder(args.toArray(String[]::new)).directory(link.toFile());
    pb.environment().put("PWD", link.toString()); // what the shell says after: cd copy/jetstream
    JsRecoverProcess.Result r = JsRecoverProcess.run(pb);
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains(link + " is a symbolic link"), r.output());
    assertEquals(before, StoreBuilder.treeDigest(tmp));
  }
}
