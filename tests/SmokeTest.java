import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.*;
class SmokeTest { @Test void runs() { assertEquals(0, Cli.run("--help").exit()); } }
