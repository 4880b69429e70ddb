///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//DEPS info.picocli:picocli:4.7.7
//DEPS com.fasterxml.jackson.core:jackson-databind:2.20.1
//DEPS net.openhft:zero-allocation-hashing:2026.0
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "js-recover", mixinStandardHelpOptions = true, version = "js-recover 0.1.0")
class JsRecover implements Callable<Integer> {
  public Integer call() { return 0; }
  static CommandLine commandLine() { return new CommandLine(new JsRecover()); }
  public static void main(String[] args) { System.exit(commandLine().execute(args)); }
}
