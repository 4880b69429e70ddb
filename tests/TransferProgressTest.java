import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nats.client.Connection;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * restore and backup say per stream how many bytes went and how fast, on stderr: on a terminal one line redrawn in
 * place (at most four times a second), otherwise a line when the stream starts and one when it ends, so a log
 * gets no carriage returns. stdout keeps the table alone.
 */
class TransferProgressTest {
  @TempDir Path tmp;

  /** "$G > BIG: 3.1 MiB in 0.4 s (7.9 MiB/s)". */
  static final String LINE = "\\$G > BIG: \\d+(\\.\\d)? (B|KiB|MiB) in \\d+\\.\\d s \\(\\d+(\\.\\d)? (B|KiB|MiB)/s\\)";

  @Test void onATerminalTheLineIsRedrawnInPlaceAtMostFourTimesASecond() throws Exception {
    StringWriter written = new StringWriter();
    Progress progress = new Progress(new PrintWriter(written), true, "$G > BIG");

    progress.add(1024);
    progress.add(1024); // at once: not drawn again
    Thread.sleep(Progress.REDRAW_NANOS / 1_000_000 + 50);
    progress.add(1024 * 1024);
    progress.done();

    String[] draws = written.toString().split("\r", -1);
    assertEquals("", draws[0], "something before the first redraw: " + written);
    assertEquals(4, draws.length, "three lines drawn over each other: " + written);
    assertTrue(draws[1].matches("\\$G > BIG: 1\\.0 KiB in \\d+\\.\\d s \\(.*/s\\) +"), draws[1]);
    assertTrue(draws[2].matches("\\$G > BIG: 1\\.0 MiB in \\d+\\.\\d s \\(.*/s\\) +"), draws[2]);
    assertTrue(draws[3].matches(LINE + "\n"), draws[3]);
    assertEquals(1026 * 1024, progress.bytes());
  }

  @Test void restoreOnAPseudoTerminalRedrawsAndInALogWritesPlainLines() throws Exception {
    ServerGeneration generation = ServerGeneration.installed();
    Path store = tmp.resolve("store");
    try (NatsServerProcess before = NatsServerProcess.standalone(generation, NatsConfig.defaults(), store, tmp.resolve("before"));
        Connection nc = before.connect("$G")) {
      nc.jetStreamManagement().addStream(StreamConfiguration.builder().name("BIG").subjects("big").storageType(StorageType.File).build());
      java.util.Random random = new java.util.Random(13); // the archive is s2-compressed: random bytes keep it 3 MiB
      byte[] payload = new byte[16 * 1024];
      for (int i = 0; i < 200; i++) {
        random.nextBytes(payload);
        nc.jetStream().publish("big", payload);
      }
    }
    assertEquals(0, Cli.run("prepare", store.toString()).exit());
    try (NatsServerProcess target = NatsServerProcess.standalone(generation, NatsConfig.defaults(), tmp.resolve("target-store"),
        tmp.resolve("target"))) {
      List<String> args = List.of("restore", "--nats-server", generation.binary().toString(), "--to", target.clientUrl(), store.toString());
      Path out = tmp.resolve("out.txt");

      // script(1) gives the run a pseudo-terminal; stdout goes to a file, so what script shows is stderr.
      String command = JsRecoverProcess.builder(args.toArray(String[]::new)).command().stream().map(Reports::shellQuote)
          .collect(Collectors.joining(" ")) + " > " + Reports.shellQuote(out.toString());
      JsRecoverProcess.Result terminal = JsRecoverProcess.run(new ProcessBuilder("script", "-qec", command, "/dev/null")
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).redirectErrorStream(true));
      String table = Files.readString(out);
      deleteStream(target);
      ProcessBuilder logged = JsRecoverProcess.builder(args.toArray(String[]::new)).redirectErrorStream(false)
          .redirectError(tmp.resolve("err.log").toFile());
      JsRecoverProcess.Result plain = JsRecoverProcess.run(logged);
      String log = Files.readString(tmp.resolve("err.log"));

      assertEquals(0, terminal.exit(), terminal.output() + table);
      assertTrue(terminal.output().replace("\r\n", "\n").matches("(?s).*\r" + LINE + "\n.*"), terminal.output());
      assertFalse(terminal.output().contains("$G > BIG: started"), terminal.output());
      assertTrue(table.matches("(?s).*\\$G +BIG +1 +restored +3\\.\\d MiB.*"), table);
      assertFalse(table.contains("\r"), "progress on stdout: " + table);
      assertEquals(0, plain.exit(), plain.output() + log);
      assertFalse(log.contains("\r"), "a log got carriage returns: " + log);
      assertTrue(log.matches("(?s).*\n\\$G > BIG: started\n" + LINE + "\n.*"), log);
      assertFalse(plain.output().matches("(?s).*(" + LINE + "|started).*"), "progress on stdout: " + plain.output());
    }
  }

  private static void deleteStream(NatsServerProcess target) throws Exception {
    try (Connection nc = target.connect("$G")) {
      nc.jetStreamManagement().deleteStream("BIG");
    }
  }
}
