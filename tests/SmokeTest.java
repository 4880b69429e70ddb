import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** What an operator types first: the README's run command through ./jbang and the catalog alias, help, version. */
class SmokeTest {
  @Test
  void theReadmesRunCommandWorksThroughTheJbangWrapperAndTheCatalogAlias() throws Exception {
    String before = StoreBuilder.treeDigest(Path.of("tests/fixtures/cluster-2.9.10/store"));
    Process p = new ProcessBuilder("./jbang", "js-recover", "inspect", "tests/fixtures/cluster-2.9.10/store")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), out);
    assertTrue(out.contains("1 account(s), 7 stream(s), 9 consumer(s)"), out);
    assertTrue(out.contains("Next: js-recover prepare --dry-run"), out);
    assertEquals(before, StoreBuilder.treeDigest(Path.of("tests/fixtures/cluster-2.9.10/store")), "inspect wrote into the fixture");
  }

  @Test
  void helpListsEveryCommandAndTheExitCodes() {
    Cli.Result help = Cli.run("--help");
    assertEquals(0, help.exit());
    for (String command : new String[] {"inspect", "prepare", "verify", "undo", "restore", "backup", "version", "help"}) {
      assertTrue(help.out().matches("(?s).*\n  " + command + " .*"), command + " missing from:\n" + help.out());
    }
    assertTrue(help.out().contains("2   usage error"), help.out());
    Cli.Result prepareHelp = Cli.run("help", "prepare");
    for (String option : new String[] {"--dry-run", "--force", "--key-file", "--key", "--cipher"}) {
      assertTrue(prepareHelp.out().contains(option), option + " missing from:\n" + prepareHelp.out());
    }
    assertTrue(Cli.run("help", "undo").out().contains("--dry-run"));
  }

  @Test
  void versionAsCommandAndOption() {
    assertEquals(JsRecover.VERSION + "\n", Cli.run("version").out());
    assertEquals(JsRecover.VERSION + "\n", Cli.run("--version").out());
  }
}
