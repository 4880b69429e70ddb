import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** Runs js-recover in-process, as an operator would on the command line, and captures what it prints. */
final class Cli {
  record Result(int exit, String out, String err) {
    String all() { return out + err; }
  }

  static Result run(String... args) {
    StringWriter out = new StringWriter(), err = new StringWriter();
    CommandLine cli = JsRecover.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute(args);
    return new Result(exit, out.toString(), err.toString());
  }

  private Cli() {}
}
