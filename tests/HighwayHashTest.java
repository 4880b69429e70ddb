import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * HighwayHash64 against Google's reference C++ library (Debian libhighwayhash-dev, its
 * HighwayHash64 C binding) and against meta.inf / meta.sum pairs written by nats-server.
 */
class HighwayHashTest {
  /** libhighwayhash for key 00 01 .. 1f and data[i] = i, lengths 0..100. */
  private static final long[] KEY0_EXPECTED = {
      0x907a56de22c26e53L, 0x7eab43aac7cddd78L, 0xb8d0569ab0b53d62L, 0x5c6befab8a463d80L,
      0xf205a46893007edaL, 0x2b8a1668e4a94541L, 0xbd4ccc325befca6fL, 0x4d02ae1738f59482L,
      0xe1205108e55f3171L, 0x32d2644ec77a1584L, 0xf6e10acdb103a90bL, 0xc3bbf4615b415c15L,
      0x243cc2040063fa9cL, 0xa89a58ce65e641ffL, 0x24b031a348455a23L, 0x40793f86a449f33bL,
      0xcfab3489f97eb832L, 0x19fe67d2c8c5c0e2L, 0x04dd90a69c565cc2L, 0x75d9518e2371c504L,
      0x38ad9b1141d3dd16L, 0x0264432ccd8a70e0L, 0xa9db5a6288683390L, 0xd7b05492003f028cL,
      0x205f615aea59e51eL, 0xeee0c89621052884L, 0x1bfc1a93a7284f4fL, 0x512175b5b70da91dL,
      0xf71f8976a0a2c639L, 0xae093fef1f84e3e7L, 0x22ca92b01161860fL, 0x9fc7007ccf035a68L,
      0xa0c964d9ecd580fcL, 0x2c90f73ca03181fcL, 0x185cf84e5691eb9eL, 0x4fc1f5ef2752aa9bL,
      0xf5b7391a5e0a33ebL, 0xb9b84b83b4e96c9cL, 0x5e42fe712a5cd9b4L, 0xa150f2f90c3f97dcL,
      0x7fa522d75e2d637dL, 0x181ad0cc0dffd32bL, 0x3889ed981e854028L, 0xfb4297e8c586ee2dL,
      0x6d064a45bb28059cL, 0x90563609b3ec860cL, 0x7aa4fce94097c666L, 0x1326bac06b911e08L,
      0xb926168d2b154f34L, 0x9919848945b1948dL, 0xa2a98fc534825ebeL, 0xe9809095213ef0b6L,
      0x582e5483707bc0e9L, 0x086e9414a88a6af5L, 0xee86b98d20f6743dL, 0xf89b7ff609b1c0a7L,
      0x4c7d9cc19e22c3e8L, 0x9a97005024562a6fL, 0x5dd41cf423e6ebefL, 0xdf13609c0468e227L,
      0x6e0da4f64188155aL, 0xb755ba4b50d7d4a1L, 0x887a3484647479bdL, 0xab8eebe9bf2139a0L,
      0x75542c5d4cd2a6ffL, 0x4a36b315b88a8e62L, 0x507af5e6f20669fcL, 0xfc3b87cf8f1a2afdL,
      0x04bbf1e3f756849bL, 0xff9a3a91e01012d8L, 0x8ed3556fd5e66c35L, 0x6a5de75d1184c503L,
      0x19abe4540dd27f9dL, 0xa9bf9b4f4fa4b3a6L, 0x34b52d230af9741cL, 0xe49cd8bab5e60f58L,
      0xf055634e6699d998L, 0x4acadd80cfe0d541L, 0xc77a130432955976L, 0xee2459c86d49fdd5L,
      0xbc6ac3326e4ffb49L, 0x15be6ae04e7a3e63L, 0xab32415216e5a7b8L, 0x53c2cf855cb8db83L,
      0x4582425504eab2d2L, 0xfb740ed265f789a1L, 0xfc1bb3d1bb290b4dL, 0x329925ef65355baeL,
      0x44984a2d3bfa0bd3L, 0x3fcff1cec3d88ad0L, 0x1713a8facbdf213fL, 0xc36ed5508d8639d1L,
      0xc3f3c83d59caa6bdL, 0x8383f02dfe48e373L, 0x11ac3e409d9ff115L, 0x7e7764d0aacc835dL,
      0x8739c56b8bce49e7L, 0xc1f33b00c17520aeL, 0x9f1493d7420555efL, 0x4293a09cd77a3f1bL,
      0x7e42cc4f1ef90033L,
  };

  /** libhighwayhash for key[i] = 0xa5 ^ (29 i + 11) and data[i] = 31 i + 7 (bytes), lengths 0..100. */
  private static final long[] KEY1_EXPECTED = {
      0x31868c93a2497a50L, 0xa50137d3f7e0baadL, 0x90a11a8182d0ec97L, 0x426a7cc2bb42eb74L,
      0xed080b399dde689bL, 0x7eb6ecc87b5b0e51L, 0x402a4227757cad82L, 0x4237a185b54bac92L,
      0x2fc8382ab1a51625L, 0x96bb5e7429e6936aL, 0x4b75728d94e117d0L, 0x2b7c18584b5ded9bL,
      0x5c764b3db24f15a4L, 0x0742ec9a45466566L, 0x46eb2ba36be114acL, 0x3f24d2eed0039e9bL,
      0xf585aa6db4062077L, 0x1fb7f4a994f6ed4fL, 0x23af42b5e155fb5fL, 0x847dc63c86b8248bL,
      0xfae5000d500f62cfL, 0x1e3a853b4b3d10b7L, 0xbc1a892162039c5fL, 0x7df40d9f22ee1980L,
      0xa701ed58947c2118L, 0xce64acc1fa144c1eL, 0xd0011e111a005bbaL, 0x28cf609206215214L,
      0xa54a9262394b4908L, 0x71f8eb85549f64b1L, 0x7cfd7740b9330ca0L, 0x7b037573ef472900L,
      0x9d651dcb66cb71daL, 0xd028211d52563dadL, 0xf901471436b1f037L, 0xc1af919e394df15aL,
      0x0ac71ee51f32b2bcL, 0x844127e8bb506fdfL, 0xb28fb495c6b6c3dbL, 0x68a13b1a2e9522b6L,
      0xa72c4ab361ff6322L, 0xf63881456521916dL, 0xae27318e48b72a65L, 0x11749f159d53b1e3L,
      0x0cde6117c7b16044L, 0x9593da18d63ff600L, 0x7d488f30d000ad30L, 0xb15682b53750a6eaL,
      0x1ea576ce182fa76dL, 0xc1f51304ec5ce49eL, 0x86248b43dc1547b3L, 0x5f2d8800b8fbf82eL,
      0x6d9428b67933f395L, 0xae4bee8e63207c58L, 0x245f6c3374001aaeL, 0xf8be9a111f4ee6bfL,
      0x24129b223bdc583fL, 0x271be7095bd9f28fL, 0x9eeebf9644ae85a6L, 0xc4f61e05123ee406L,
      0x26b41dd1bc687726L, 0xc5e640c80712f50fL, 0xa179628caee01cb4L, 0x7c0390a17a1c0976L,
      0x99645fb97d50280cL, 0x70b10510e01d9dc0L, 0xaaa973b6fdd8bfceL, 0x5fb4da476b47cd9dL,
      0x7d1391a65ae72e35L, 0x3c63eb42026403a7L, 0x9c3de97a9c3d2ec2L, 0x2a69cf41a1eea648L,
      0x7cdfca6f6c96116aL, 0xd62624ec0ad6bb19L, 0x2d706275ffd62718L, 0x64ba7457a7783935L,
      0xcfb47a24ea3061c2L, 0x5a83dedcbf3861b7L, 0x64cf224bc4e1d69bL, 0x5453ef0e095e5e50L,
      0x42110f8d7b392411L, 0xd1d54d0b635426f2L, 0x8786d8874c807069L, 0xa3f5a48b3a9348b8L,
      0x0fe83cfb263cb0a7L, 0x1d3caaf0e5e67eceL, 0x7b8fefa2fe2b49c9L, 0x7b093c571658572cL,
      0xa08a53239b1b077aL, 0x6ba859bc45cd85e3L, 0x310986f79244a0faL, 0x5da60d5177f6dacbL,
      0xba2433a7831a05e1L, 0x3a288a107544d50cL, 0x52e145823f327b4dL, 0x2b5d4f071b7ed8d4L,
      0x670a8c4e7505f906L, 0x2c3db4ad03950d30L, 0x000d1e193da4dc39L, 0x50c575cbc46c2540L,
      0x56e6e62d346fbcf4L,
  };

  /** Written by nats-server 2.9.10 (STORE-NOTES.md): stream ORDERS, meta.sum e14b02ba778a25b9. */
  private static final String ORDERS_META = "{\"Created\":\"2026-11-21T23:38:07.180677982Z\",\"name\":\"ORDERS\","
      + "\"subjects\":[\"orders.\\u003e\"],\"retention\":\"limits\",\"max_consumers\":-1,"
      + "\"max_msgs\":-1,\"max_bytes\":-1,\"max_age\":0,\"max_msgs_per_subject\":-1,"
      + "\"max_msg_size\":-1,\"discard\":\"old\",\"storage\":\"file\",\"num_replicas\":3,"
      + "\"duplicate_window\":120000000000,\"allow_direct\":false,\"mirror_direct\":false,"
      + "\"sealed\":false,\"deny_delete\":false,\"deny_purge\":false,\"allow_rollup_hdrs\":false}";

  /** Written by nats-server 2.9.10 (STORE-NOTES.md): consumer ORDERS/R3EXPL, meta.sum d1ca88c7a1116a2d. */
  private static final String R3EXPL_META = "{\"Created\":\"2026-11-21T23:38:10.476743496Z\",\"Name\":\"R3EXPL\","
      + "\"durable_name\":\"R3EXPL\",\"name\":\"R3EXPL\",\"deliver_policy\":\"all\","
      + "\"ack_policy\":\"explicit\",\"ack_wait\":30000000000,\"max_deliver\":-1,"
      + "\"replay_policy\":\"instant\",\"max_waiting\":512,\"max_ack_pending\":1000,"
      + "\"num_replicas\":3}";

  /** Written by a standalone nats-server 2.9.10 here: stream Inv@2026#EU, meta.sum e6bd6e02120f857a. */
  private static final String INVOICES_META = "{\"Created\":\"2026-11-22T00:21:40.814541502Z\","
      + "\"name\":\"Inv@2026#EU\","
      + "\"description\":\"invoices \\u0026 credit notes\",\"subjects\":[\"inv.eu.*\"],"
      + "\"retention\":\"limits\",\"max_consumers\":-1,\"max_msgs\":-1,\"max_bytes\":-1,"
      + "\"max_age\":3600000000000,\"max_msgs_per_subject\":-1,\"max_msg_size\":-1,"
      + "\"discard\":\"old\",\"storage\":\"file\",\"num_replicas\":1,"
      + "\"duplicate_window\":120000000000,\"allow_direct\":false,\"mirror_direct\":false,"
      + "\"sealed\":false,\"deny_delete\":false,\"deny_purge\":false,\"allow_rollup_hdrs\":false}";

  /** Written by the same server: consumer Inv@2026#EU/pull-1~a, meta.sum d793a0545f5184f6. */
  private static final String PULL_META = "{\"Created\":\"2026-11-22T00:21:40.939595325Z\",\"Name\":\"pull-1~a\","
      + "\"durable_name\":\"pull-1~a\",\"deliver_policy\":\"all\",\"ack_policy\":\"explicit\","
      + "\"ack_wait\":30000000000,\"max_deliver\":-1,\"filter_subject\":\"inv.eu.\\u003e\","
      + "\"replay_policy\":\"instant\",\"max_waiting\":512,\"max_ack_pending\":20,\"num_replicas\":0}";

  private static byte[] key(int which) {
    byte[] key = new byte[32];
    for (int i = 0; i < 32; i++) key[i] = (byte) (which == 0 ? i : 0xa5 ^ (i * 29 + 11));
    return key;
  }

  private static byte[] data(int which, int length) {
    byte[] data = new byte[length];
    for (int i = 0; i < length; i++) data[i] = (byte) (which == 0 ? i : i * 31 + 7);
    return data;
  }

  @Test
  void matchesTheReferenceForEveryLengthUpTo100() {
    long[][] expected = {KEY0_EXPECTED, KEY1_EXPECTED};
    for (int k = 0; k < 2; k++) {
      HighwayHash64 hash = new HighwayHash64(key(k));
      byte[] data = data(k, 100);
      for (int n = 0; n <= 100; n++) {
        assertEquals(expected[k][n], hash.hashBytes(data, 0, n), "key " + k + ", length " + n);
      }
    }
  }

  @Test
  void matchesTheReferenceForLongInputs() {
    HighwayHash64 hash0 = new HighwayHash64(key(0)), hash1 = new HighwayHash64(key(1));
    assertEquals(0x8d6f247785b84d4fL, hash0.hashBytes(data(0, 1000)));
    assertEquals(0xba720d51cbd20ca7L, hash0.hashBytes(data(0, 4099)));
    assertEquals(0x637bdee7ffda2c5bL, hash0.hashBytes(data(0, 65553)));
    assertEquals(0x1022e428d3017161L, hash1.hashBytes(data(1, 1000)));
    assertEquals(0x5dd740df20f1e3b4L, hash1.hashBytes(data(1, 4099)));
    assertEquals(0xbee29f3556d651d8L, hash1.hashBytes(data(1, 65553)));
  }

  @Test
  void metaSumMatchesWhatNatsServerWrote() {
    assertEquals("e14b02ba778a25b9", HighwayHash64.metaSum("ORDERS", utf8(ORDERS_META)));
    assertEquals("d1ca88c7a1116a2d", HighwayHash64.metaSum("ORDERS/R3EXPL", utf8(R3EXPL_META)));
    assertEquals("e6bd6e02120f857a", HighwayHash64.metaSum("Inv@2026#EU", utf8(INVOICES_META)));
    assertEquals("d793a0545f5184f6", HighwayHash64.metaSum("Inv@2026#EU/pull-1~a", utf8(PULL_META)));
  }

  @Test
  void byteBuffersHashTheirRemainingBytesWhateverTheirOrderAndKind() {
    HighwayHash64 hash = new HighwayHash64(key(1));
    byte[] data = data(1, 140);
    ByteBuffer direct = ByteBuffer.allocateDirect(data.length).put(data);
    for (int n = 0; n <= 100; n++) {
      long expected = hash.hashBytes(data, 3, n);
      ByteBuffer heap = ByteBuffer.wrap(data).position(3).limit(3 + n);
      ByteBuffer slice = ByteBuffer.wrap(data).position(3).slice().limit(n).order(ByteOrder.LITTLE_ENDIAN);
      direct.clear().position(3).limit(3 + n);
      assertEquals(expected, hash.hashBytes(heap), "heap buffer, length " + n);
      assertEquals(expected, hash.hashBytes(slice), "heap slice with an array offset, length " + n);
      assertEquals(expected, hash.hashBytes(heap.asReadOnlyBuffer()), "read-only heap buffer, length " + n);
      assertEquals(expected, hash.hashBytes(direct), "direct buffer, length " + n);
      assertEquals(expected, hash.hashBytes(direct.order(ByteOrder.LITTLE_ENDIAN)),
          "little-endian direct buffer, length " + n);
      direct.order(ByteOrder.BIG_ENDIAN).limit(4);
      assertEquals(expected, hash.hashBytes(direct, 3, n), "direct buffer by index past its limit, length " + n);
    }
  }

  @Test
  void nativeMemoryHashesLikeArrays() throws ReflectiveOperationException {
    // sun.misc.Unsafe through reflection: Java 17 has no public way to get native memory's address,
    // and a direct reference would make javac warn in every build.
    Class<?> type = Class.forName("sun.misc.Unsafe");
    java.lang.reflect.Field field = type.getDeclaredField("theUnsafe");
    field.setAccessible(true);
    Object unsafe = field.get(null);
    java.lang.reflect.Method putByte = type.getMethod("putByte", long.class, byte.class);
    HighwayHash64 hash = new HighwayHash64(key(0));
    byte[] data = data(0, 1000);
    long address = (long) type.getMethod("allocateMemory", long.class).invoke(unsafe, (long) data.length);
    try {
      for (int i = 0; i < data.length; i++) putByte.invoke(unsafe, address + i, data[i]);
      for (int n : new int[] {0, 1, 7, 31, 32, 33, 63, 100, 1000}) {
        assertEquals(hash.hashBytes(data, 0, n), hash.hashMemory(address, n), "length " + n);
      }
    } finally {
      type.getMethod("freeMemory", long.class).invoke(unsafe, address);
    }
  }

  @Test
  void primitivesHashTheirBytesInNativeOrder() {
    HighwayHash64 hash = new HighwayHash64(key(0));
    ByteBuffer bytes = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
    for (long v : new long[] {0, 1, -1, 0x0123456789abcdefL, Long.MIN_VALUE, 0x80ff00017f7e0102L}) {
      assertEquals(hash.hashBytes(bytes.putLong(0, v).array()), hash.hashLong(v), "long " + v);
      assertEquals(hash.hashLongs(new long[] {v}), hash.hashLong(v), "long " + v);
      assertEquals(hash.hashBytes(bytes.putInt(0, (int) v).array(), 0, 4), hash.hashInt((int) v), "int " + v);
      assertEquals(hash.hashInts(new int[] {(int) v}), hash.hashInt((int) v), "int " + v);
      assertEquals(hash.hashBytes(bytes.putShort(0, (short) v).array(), 0, 2), hash.hashShort((short) v), "short " + v);
      assertEquals(hash.hashBytes(bytes.putChar(0, (char) v).array(), 0, 2), hash.hashChar((char) v), "char " + v);
      assertEquals(hash.hashBytes(new byte[] {(byte) v}), hash.hashByte((byte) v), "byte " + v);
    }
    assertEquals(KEY0_EXPECTED[0], hash.hashVoid());
  }

  @Test
  void charSequencesHashTheirNativeOrderUtf16() {
    HighwayHash64 hash = new HighwayHash64(key(1));
    String text = "Inv@2026#EU \u00fc\u20ac pull-1~a ORDERS/R3EXPL \u0000 end";
    ByteBuffer utf16 = ByteBuffer.allocate(text.length() * 2).order(ByteOrder.nativeOrder());
    text.chars().forEach(c -> utf16.putChar((char) c));
    for (int n = 0; n <= text.length(); n++) {
      assertEquals(hash.hashBytes(utf16.array(), 0, 2 * n), hash.hashChars(text.substring(0, n)), "length " + n);
    }
  }

  @Test
  void keysMustBe32Bytes() {
    assertThrows(IllegalArgumentException.class, () -> new HighwayHash64(new byte[31]));
    assertThrows(IllegalArgumentException.class, () -> new HighwayHash64(new byte[33]));
    assertThrows(IllegalArgumentException.class, () -> new HighwayHash64(null));
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
