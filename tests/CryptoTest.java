import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * MetaCrypto against published test vectors (HChaCha20, XChaCha20 and XChaCha20-Poly1305 from
 * draft-irtf-cfrg-xchacha-03, ChaCha20 from RFC 8439, AES-256-GCM with 16-byte IVs from Wycheproof), against encrypted
 * stores written by nats-server 2.9.10 (embedded below; fixtures/encrypted-2.9.10 has the files
 * and the script that made them). EncryptedStoreTest has a live server load what prepare reseals; BlockReaderTest
 * decrypts the message blocks real servers of every generation encrypted with both ciphers.
 */
class CryptoTest {
  private static final HexFormat HEX = HexFormat.of();

  /** The jetstream.key of the stores below; non-ASCII to show the server uses its UTF-8 bytes as they are. */
  private static final String CHACHA_JS_KEY = "s3cr3t key \u00fc";
  private static final String AES_JS_KEY = "aes key";

  /** A meta.key / meta.inf / meta.sum set as the server wrote it, and the JSON sealed in meta.inf. */
  private record StoredMeta(MetaCrypto.Cipher cipher, String jsKey, String account, String context,
      String checksumKeyName, String metaSum, String metaKeyBase64, String metaInfBase64, String json) {
    byte[] metaKey() {
      return Base64.getDecoder().decode(metaKeyBase64);
    }

    byte[] metaInf() {
      return Base64.getDecoder().decode(metaInfBase64);
    }

    MetaCrypto.Opened open(MetaCrypto.Cipher preferred) throws GeneralSecurityException {
      return MetaCrypto.openMeta(jsKey.getBytes(UTF_8), account, context, metaKey(), metaInf(), preferred);
    }
  }

  /** Stream ORD-1 in the default account $G, cipher chacha. */
  private static final StoredMeta CHACHA_STREAM = new StoredMeta(MetaCrypto.Cipher.CHACHA, CHACHA_JS_KEY, "$G", "ORD-1",
      "ORD-1", "dad91877031c922b",
      "1l35Pb0nSJ+aOkln8kF6mf+Lw5bXVxdO5x4BfqCs8fkA0jyv/JeEey+tN5xDuRv9LYcmKET+ViaRuxQ/DjVt"
      + "+hrRR6jiLum3",
      "dRjh27nbyVujlh4OGro/hzFyNSjvXNhywPOLjS9o4HV7JoJV21ydTxZsexATdhnDSbS/i0JA9IfmZtibLcGb"
      + "1sWB71tVf65oIVS0DqCrsJTk0RwIY/bpQeh7ZOrWishuUQib5oRW54A8Ez1YeGXmcscFfnTcjyDrPai4mBcY"
      + "oA4I92Hd7RLTSUBoW7juYkCgWH0yOtX7JlGs7i8HNiD/mtZ/EFKPcJqC5T3SV4YV1oWpS0eCgiFUTKvBC4bJ"
      + "0wMi4+RxvGRACO0lTN+aSvRXKDjK/2fo2ldDIt/4URv9J0tdR0kPUYKvlcpmHgjIb9YQbO22JyFj+LgDeTed"
      + "oFwPDBr+vMlrdRthO8wfP1IAE1U2lpwIyURZIeq5etLJbI5Z1sDHKcXtWAttDRFOehMiyIss2jf+fygXr4NL"
      + "A56r64rX2i8TnlwguFjFL+JNaMYOqdq+zvFgg9jDgM6t0cPMosjAANgs6TjcZ9Pe8TKrxkWEWbZwSqKQf7Ik"
      + "lrbwZjjRtuaCdFt0EqeWrP4wffy0YKtnubZkvtM/pdH0CgB5dP69txD5DLbOOsmtvoBjOC+RKPzK1Ed/Ya1G"
      + "1Yia7WWQCwFpveNjHL6tBQ==",
      "{\"Created\":\"2026-11-22T00:21:30.760763796Z\",\"name\":\"ORD-1\","
      + "\"subjects\":[\"ORD-1.\\u003e\"],\"retention\":\"limits\",\"max_consumers\":-1,"
      + "\"max_msgs\":-1,\"max_bytes\":-1,\"max_age\":0,\"max_msgs_per_subject\":-1,"
      + "\"max_msg_size\":-1,\"discard\":\"old\",\"storage\":\"file\",\"num_replicas\":1,"
      + "\"duplicate_window\":120000000000,\"allow_direct\":false,\"mirror_direct\":false,"
      + "\"sealed\":false,\"deny_delete\":false,\"deny_purge\":false,"
      + "\"allow_rollup_hdrs\":false}");

  /** Its durable consumer C1. */
  private static final StoredMeta CHACHA_CONSUMER = new StoredMeta(MetaCrypto.Cipher.CHACHA, CHACHA_JS_KEY, "$G",
      "ORD-1.C1", "ORD-1/C1", "496b54de256f9f2f",
      "Gzsna5O5dR6i2GxoGi2Qm8ssvINkr6xDPblGXz/jMGiAbx1luj+bcaCHINp30cldC1WuWkGLJFZv/z1j1ie6"
      + "nNzSbFDaSdZm",
      "bsZAAOjUKTSi3ycT8Ei5743ccbms/r0X64+l61gDhrgRixRE0DlSEGq8bhAvQ9P9od43Wz/GTfnM2cO0F4gz"
      + "P9w2jS6Mdmj/98z/PPQGO33N5Z3wRr3yZTbroMUWG8frEVBIUAiZtGMVAWKjZdyoYwOhZrRxDugChfRnJNHB"
      + "3yPJh4K90SQustcPFyuGklvRzZttmV+tfr0dUPRFphr32zhHBbKGmUVg+T4g59HIvVGeCsKI67KChaLlhIaP"
      + "/Ppt34PDU2bvVUi77wV5jezbf8DIWMvvBWb2tMOWMBoOWGCnZ30x9IoYv6ITwNdSUsQlZxPs+X2K2XyUbub/"
      + "8Kuk5TqOF8pZKlObANTrwGAX+KIYLcVM1Wgny2yhoBHwtRw=",
      "{\"Created\":\"2026-11-22T00:21:30.881774724Z\",\"Name\":\"C1\","
      + "\"durable_name\":\"C1\",\"deliver_policy\":\"all\",\"ack_policy\":\"explicit\","
      + "\"ack_wait\":30000000000,\"max_deliver\":-1,\"replay_policy\":\"instant\","
      + "\"max_waiting\":512,\"max_ack_pending\":1000,\"num_replicas\":0}");

  /** Stream S1 in account ACME, cipher aes. */
  private static final StoredMeta AES_STREAM = new StoredMeta(MetaCrypto.Cipher.AES, AES_JS_KEY, "ACME", "S1",
      "S1", "f98608ede22d88dc",
      "CrYboH0Cl1WdJQzrqWXyOH1aa5uwfvJBgDfP1lUeENDVomg8vjwP2YeY3494pBkFgiMLHqPl4HsXeXdqWhQD"
      + "Yg==",
      "PSUfsJ9Ey018i+nWznmE7EW0tX/rpo51o4vJHt9Z54NaaIUZVmiwQ4BlHamb581FOfvk3Y6RNm9AVUG/gauL"
      + "w9qOU+WMUaznSjKCfrr6OJ7BUtK1s9ofrkjn2U5DW7x9yw8B5oKntdBusSt1waOyE5UapgyhLJSc+9GkCXzo"
      + "EdjlznITlZsdrkXllEItw0GHcXKyjCGWCASNiOuMNmDgEMyJgK7a4NCBmt/BKW0vHgFC0g39jXd4/aj5fI5n"
      + "fW3G0ptXXX587/jE6G+fIPMCDOvB/40MIS5knjJ3HbAjYCM4yK+R/+CL3T2VdQ9MhkAz3+WTLnhPA9ie/ogu"
      + "K7/4yvEJlxwUzMsKWty5Op6eJGl6KDa8bsz8mT55Rx9nh5iWHCvEHDtDhBZBHL4SyY/GPogEmL/eGr3VfntW"
      + "4BlSh6DS07z16PNB7V/Vlw+ye0KpG3M8LBKzJqAgfVpmB168fPKVoEQU2OY8QkQhMHmbXj1wWBTrdWYo8gM6"
      + "0wuaXQQqiokXwvalli8QK8TF4xORmo+rcYqSlrYe8Ggtb6cxleIFkf1ZWXYLT6fLCMJBOJt3rre+SN/pveAs"
      + "3e8=",
      "{\"Created\":\"2026-11-22T00:21:32.411381056Z\",\"name\":\"S1\","
      + "\"subjects\":[\"S1.\\u003e\"],\"retention\":\"limits\",\"max_consumers\":-1,"
      + "\"max_msgs\":-1,\"max_bytes\":-1,\"max_age\":0,\"max_msgs_per_subject\":-1,"
      + "\"max_msg_size\":-1,\"discard\":\"old\",\"storage\":\"file\",\"num_replicas\":1,"
      + "\"duplicate_window\":120000000000,\"allow_direct\":false,\"mirror_direct\":false,"
      + "\"sealed\":false,\"deny_delete\":false,\"deny_purge\":false,"
      + "\"allow_rollup_hdrs\":false}");

  /** Its durable consumer C1. */
  private static final StoredMeta AES_CONSUMER = new StoredMeta(MetaCrypto.Cipher.AES, AES_JS_KEY, "ACME", "S1.C1",
      "S1/C1", "a946f6033f4ced9f",
      "cJNVQFE/hrc0ztifbpCI6LAu3DTwq6q6vkhuFL5TjfgGy5txS7o7NyaktGIEblrzSQACAt3xk7ueOSmqvCI8"
      + "Fg==",
      "GrP3ZqczDCYdcLABKcE7Z0h8HXY0dNXVK/ZM+kB23b7UOacptX6/G1Bk7FJM/3UzoNJAx596Zog87ZI5gjD4"
      + "g96h6vkRwWGZ2zrj7APuCbxsnFu0+fe39w86FBSQOnttknNglcsRw/Ve/ijUo+iqPHpNQCF0K17PwwbKlXRA"
      + "pcSgrs+152fMoGyx0P+SFn58dy0QsQWie0oJIrgOLUx6mPAkv185BA69aHo27WQt0kshN9fysYuFgsdW152r"
      + "7QiKMPQESQPj0+iG7Edq4i8zHrnTO1Uc7dN/WxF+GXhAtBIcd4prLSKUylXy7AnxMr2dk6RYVy5OacF5OY8f"
      + "bPls56wiAVAeKuKfZJ3slbUzmkDbscsw8e8c",
      "{\"Created\":\"2026-11-22T00:21:32.534232843Z\",\"Name\":\"C1\","
      + "\"durable_name\":\"C1\",\"deliver_policy\":\"all\",\"ack_policy\":\"explicit\","
      + "\"ack_wait\":30000000000,\"max_deliver\":-1,\"replay_policy\":\"instant\","
      + "\"max_waiting\":512,\"max_ack_pending\":1000,\"num_replicas\":0}");

  private static final List<StoredMeta> STORED = List.of(CHACHA_STREAM, CHACHA_CONSUMER, AES_STREAM, AES_CONSUMER);

  /** The plaintext of the RFC 8439 and draft-irtf-cfrg-xchacha examples. */
  private static final String SUNSCREEN = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip"
      + " for the future, sunscreen would be it.";

  @Test
  void hChaCha20MatchesTheDraftVector() {
    // draft-irtf-cfrg-xchacha-03 section 2.2.1
    byte[] key = HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    byte[] nonce = HEX.parseHex("000000090000004a0000000031415927");
    assertEquals("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc",
        HEX.formatHex(MetaCrypto.hChaCha20(key, nonce)));
  }

  @Test
  void chaCha20KeystreamMatchesTheRfc8439Vector() {
    // RFC 8439 section 2.4.2: initial block counter 1, so the keystream starts at byte 64
    byte[] key = HEX.parseHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    byte[] nonce = HEX.parseHex("000000000000004a00000000");
    byte[] plaintext = SUNSCREEN.getBytes(UTF_8), out = new byte[plaintext.length];
    new ChaCha20(key, nonce).xor(64, plaintext, 0, out, 0, plaintext.length);
    assertEquals("6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b357"
        + "1639d624e65152ab8f530c359f0861d807ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab77937365af90bbf74a3"
        + "5be6b40b8eedf2785e42874d", HEX.formatHex(out));
  }

  @Test
  void xChaCha20BlockKeystreamMatchesTheDraftVector() {
    // draft-irtf-cfrg-xchacha-03 appendix A.3.2, with block counter 1 (A.3.2.2): a block key with this seed and
    // nonce decrypts these bytes at file offset 64 to the plaintext, and (a keystream XOR) the reverse
    byte[] key = HEX.parseHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    byte[] nonce = HEX.parseHex("404142434445464748494a4b4c4d4e4f5051525354555658");
    byte[] plaintext = ("The dhole (pronounced \"dole\") is also known as the Asiatic wild dog, red dog, and whistling dog."
        + " It is about the size of a German shepherd but looks more like a long-legged fox. This highly elusive and"
        + " skilled jumper is classified with wolves, coyotes, jackals, and foxes in the taxonomic family Canidae.")
        .getBytes(UTF_8);
    String ciphertext = "7d0a2e6b7f7c65a236542630294e063b7ab9b555a5d5149aa21e4ae1e4fbce87"
        + "ecc8e08a8b5e350abe622b2ffa617b202cfad72032a3037e76ffdcdc4376ee05"
        + "3a190d7e46ca1de04144850381b9cb29f051915386b8a710b8ac4d027b8b050f"
        + "7cba5854e028d564e453b8a968824173fc16488b8970cac828f11ae53cabd201"
        + "12f87107df24ee6183d2274fe4c8b1485534ef2c5fbc1ec24bfc3663efaa08bc"
        + "047d29d25043532db8391a8a3d776bf4372a6955827ccb0cdd4af403a7ce4c63"
        + "d595c75a43e045f0cce1f29c8b93bd65afc5974922f214a40b7c402cdb91ae73"
        + "c0b63615cdad0480680f16515a7ace9d39236464328a37743ffc28f4ddb324f4"
        + "d0f5bbdc270c65b1749a6efff1fbaa09536175ccd29fb9e6057b307320d31683"
        + "8a9c71f70b5b5907a66f7ea49aadc409";
    BlockKey blockKey = new BlockKey(MetaCrypto.Cipher.CHACHA, key, nonce);
    assertEquals(ciphertext, HEX.formatHex(blockKey.decryptAt(plaintext, 64)));
    assertArrayEquals(plaintext, blockKey.decryptAt(HEX.parseHex(ciphertext), 64));
  }

  @Test
  void chaCha20AgreesWithTheJdkCipherFromAnyPositionForAnyLength() throws GeneralSecurityException {
    // Our keystream computes 256 blocks (16 KB) at a time: starts and ends inside a block, on a batch edge and
    // across several batches must all equal RFC 8439 as the JDK's ChaCha20 implements it, also in place.
    java.util.Random random = new java.util.Random(8439);
    byte[] key = new byte[32], nonce = new byte[12], data = new byte[70_000];
    random.nextBytes(key);
    random.nextBytes(nonce);
    random.nextBytes(data);
    for (int round = 0; round < 300; round++) {
      int counter = random.nextInt(2000), skip = round % 3 == 0 ? 0 : random.nextInt(64);
      int len = round % 5 == 0 ? 16384 * (1 + random.nextInt(3)) - skip : random.nextInt(data.length);
      javax.crypto.Cipher jdk = javax.crypto.Cipher.getInstance("ChaCha20");
      jdk.init(javax.crypto.Cipher.ENCRYPT_MODE, new javax.crypto.spec.SecretKeySpec(key, "ChaCha20"),
          new javax.crypto.spec.ChaCha20ParameterSpec(nonce, counter));
      jdk.update(new byte[skip]);
      byte[] expected = jdk.doFinal(data, 0, len), inPlace = Arrays.copyOf(data, len);
      new ChaCha20(key, nonce).xor(64L * counter + skip, inPlace, 0, inPlace, 0, len);
      assertArrayEquals(expected, inPlace, "counter " + counter + ", skip " + skip + ", length " + len);
    }
  }

  @ParameterizedTest
  @EnumSource(MetaCrypto.Cipher.class)
  void aBlockDecryptedFromAnyOffsetMatchesTheWholeBlock(MetaCrypto.Cipher cipher) {
    // What the last-checksum read relies on, across the slices a whole block is decrypted in.
    java.util.Random random = new java.util.Random(cipher.ordinal());
    byte[] seed = new byte[32], nonce = new byte[cipher.nonceSize], file = new byte[100_000];
    random.nextBytes(seed);
    random.nextBytes(nonce);
    random.nextBytes(file);
    BlockKey key = new BlockKey(cipher, seed, nonce);
    byte[] whole = key.decrypt(file);
    assertFalse(Arrays.equals(file, whole));
    assertArrayEquals(file, key.decrypt(whole));
    for (int from : new int[] {1, 15, 16, 63, 64, 16384, 16385, 50_001, 99_992}) {
      assertArrayEquals(Arrays.copyOfRange(whole, from, file.length),
          key.decryptAt(Arrays.copyOfRange(file, from, file.length), from), "from " + from);
    }
  }

  @Test
  void xChaCha20Poly1305MatchesTheDraftVector() throws GeneralSecurityException {
    // draft-irtf-cfrg-xchacha-03 appendix A.3.1
    byte[] key = HEX.parseHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    byte[] nonce = HEX.parseHex("404142434445464748494a4b4c4d4e4f5051525354555657");
    byte[] aad = HEX.parseHex("50515253c0c1c2c3c4c5c6c7");
    byte[] plaintext = SUNSCREEN.getBytes(UTF_8);
    String ciphertextAndTag = "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
        + "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
        + "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
        + "21f9664c97637da9768812f615c68b13b52e" + "c0875924c1c7987947deafd8780acf49";
    byte[] sealed = MetaCrypto.seal(MetaCrypto.Cipher.CHACHA, key, plaintext, nonce, aad);
    assertEquals(HEX.formatHex(nonce) + ciphertextAndTag, HEX.formatHex(sealed));
    assertArrayEquals(plaintext, MetaCrypto.open(MetaCrypto.Cipher.CHACHA, key, sealed, aad));
    assertThrows(AEADBadTagException.class, () -> MetaCrypto.open(MetaCrypto.Cipher.CHACHA, key, sealed));
  }

  @Test
  void aes256GcmWith16ByteNoncesMatchesWycheproof() throws GeneralSecurityException {
    // Wycheproof aes_gcm_test.json, group ivSize 128 / keySize 256: tcId 204, and tcId 186 whose
    // IV hashes to a counter block that wraps. OpenSSL (python cryptography 48) gives the same.
    String[][] vectors = {
        {"4f84782bfbb64a973c3de3dcfa3430367fd68bc0b4c3b31e5d7c8141ba3e6a67", "5d1bde6fa0994b33efd8f23f531248a7",
            "78cb6650a1908a842101ea85804fed00cc56fbdafafba0ef4d1ca607dcae57b6",
            "cb960201fa5ad41d41d1c2c8037c71d52b72e76b16b589d71b976627c9734c9d" + "8dfce16467c3a6ebb3e7242c9a551962"},
        {"00112233445566778899aabbccddeeff102132435465768798a9bacbdcedfe0f", "5c2ea9b695fcf6e264b96074d6bfa572",
            "00".repeat(40),
            "28e1c5232f4ee8161dbe4c036309e0b3254e9212bef0a93431ce5e5604c8f6a73c18a3183018b770"
                + "d5808a1bd11a01129bf3c6919aff2339"}};
    for (String[] v : vectors) {
      byte[] key = HEX.parseHex(v[0]), nonce = HEX.parseHex(v[1]), plaintext = HEX.parseHex(v[2]);
      byte[] sealed = MetaCrypto.seal(MetaCrypto.Cipher.AES, key, plaintext, nonce);
      assertEquals(v[1] + v[3], HEX.formatHex(sealed));
      assertArrayEquals(plaintext, MetaCrypto.open(MetaCrypto.Cipher.AES, key, sealed));
    }
  }

  @Test
  void prfIsHmacSha256KeyedWithTheKeyBytesOverAccountThenContext() {
    byte[] jsKey = CHACHA_JS_KEY.getBytes(UTF_8);
    // python3: hmac.new("s3cr3t key ü".encode(), b"$G" + b"ORD-1", hashlib.sha256).hexdigest()
    assertEquals("981cb6471f72cba59dd6d86b1272cfb857fba9fbde75eae5677cb87b361e3539",
        HEX.formatHex(MetaCrypto.prf(jsKey, "$G", "ORD-1")));
    // No separator between account and context: the server just writes one after the other.
    assertArrayEquals(MetaCrypto.prf(jsKey, "$G", "ORD-1"), MetaCrypto.prf(jsKey, "$GORD", "-1"));
  }

  @ParameterizedTest(name = "{displayName}: {0}")
  @EnumSource(MetaCrypto.Cipher.class)
  void sealedBytesAreNonceThenCiphertextThenTag(MetaCrypto.Cipher cipher) throws GeneralSecurityException {
    byte[] key = HEX.parseHex("0f".repeat(32));
    for (int length : new int[] {0, 1, 15, 16, 17, 450, 5000}) {
      byte[] plaintext = new byte[length];
      Arrays.fill(plaintext, (byte) 'x');
      byte[] nonce = new byte[cipher.nonceSize];
      Arrays.fill(nonce, (byte) length);
      byte[] sealed = MetaCrypto.seal(cipher, key, plaintext, nonce);
      assertEquals(nonce.length + length + 16, sealed.length);
      assertArrayEquals(nonce, Arrays.copyOf(sealed, nonce.length));
      assertArrayEquals(plaintext, MetaCrypto.open(cipher, key, sealed));
    }
    byte[] first = MetaCrypto.seal(cipher, key, "{}".getBytes(UTF_8));
    byte[] second = MetaCrypto.seal(cipher, key, "{}".getBytes(UTF_8));
    assertFalse(Arrays.equals(Arrays.copyOf(first, cipher.nonceSize), Arrays.copyOf(second, cipher.nonceSize)),
        "every seal draws a fresh nonce");
    assertArrayEquals("{}".getBytes(UTF_8), MetaCrypto.open(cipher, key, second));
  }

  @ParameterizedTest(name = "{displayName}: {0}")
  @EnumSource(MetaCrypto.Cipher.class)
  void anyChangeToSealedBytesOrKeyFailsToOpen(MetaCrypto.Cipher cipher) {
    byte[] key = HEX.parseHex("a5".repeat(32));
    byte[] sealed = MetaCrypto.seal(cipher, key, "{\"name\":\"ORDERS\"}".getBytes(UTF_8));
    for (int i = 0; i < sealed.length; i++) {
      byte[] tampered = sealed.clone();
      tampered[i] ^= 0x01;
      assertThrows(AEADBadTagException.class, () -> MetaCrypto.open(cipher, key, tampered), "byte " + i);
    }
    byte[] otherKey = key.clone();
    otherKey[31] ^= 0x01;
    assertThrows(AEADBadTagException.class, () -> MetaCrypto.open(cipher, otherKey, sealed));
    assertThrows(AEADBadTagException.class, () -> MetaCrypto.open(cipher.other(), key, sealed));
    assertThrows(AEADBadTagException.class,
        () -> MetaCrypto.open(cipher, key, Arrays.copyOf(sealed, cipher.nonceSize + 15)));
  }

  @Test
  void sealRejectsKeysAndNoncesOfTheWrongSize() {
    byte[] plaintext = new byte[1];
    assertThrows(IllegalArgumentException.class,
        () -> MetaCrypto.seal(MetaCrypto.Cipher.CHACHA, new byte[32], plaintext, new byte[12]));
    assertThrows(IllegalArgumentException.class,
        () -> MetaCrypto.seal(MetaCrypto.Cipher.AES, new byte[32], plaintext, new byte[12]));
    assertThrows(IllegalArgumentException.class, () -> MetaCrypto.seal(MetaCrypto.Cipher.AES, new byte[16], plaintext));
  }

  @Test
  void cipherNamesAreTheServerConfigValues() {
    assertEquals(MetaCrypto.Cipher.CHACHA, MetaCrypto.Cipher.fromConfig("chacha"));
    assertEquals(MetaCrypto.Cipher.CHACHA, MetaCrypto.Cipher.fromConfig("ChaChaPoly"));
    assertEquals(MetaCrypto.Cipher.AES, MetaCrypto.Cipher.fromConfig("AES"));
    assertThrows(IllegalArgumentException.class, () -> MetaCrypto.Cipher.fromConfig("aes-gcm"));
  }

  @Test
  void opensMetaWrittenByNatsServer() throws GeneralSecurityException {
    for (StoredMeta stored : STORED) {
      MetaCrypto.Opened opened = stored.open(stored.cipher());
      assertEquals(stored.cipher(), opened.cipher(), stored.context());
      assertEquals(stored.json(), new String(opened.plaintext(), UTF_8), stored.context());
      assertEquals(32, opened.assetKey().length, stored.context());
      assertEquals(stored.metaSum(), HighwayHash64.metaSum(stored.checksumKeyName(), stored.metaInf()),
          stored.context());
    }
  }

  @Test
  void triesThePreferredCipherThenTheOther() throws GeneralSecurityException {
    for (StoredMeta stored : STORED) {
      assertEquals(stored.cipher(), stored.open(stored.cipher().other()).cipher(), stored.context());
      assertEquals(stored.json(), new String(stored.open(null).plaintext(), UTF_8), stored.context());
    }
  }

  @Test
  void refusesTheWrongKeyAccountOrContext() {
    StoredMeta consumer = AES_CONSUMER;
    for (String[] wrong : new String[][] {
        {AES_JS_KEY + "\n", "ACME", "S1.C1"}, // a key read from a file with its newline
        {AES_JS_KEY, "$G", "S1.C1"},          // the default account instead of the stream's
        {AES_JS_KEY, "ACME", "S1/C1"}}) {     // the checksum name instead of the context
      GeneralSecurityException e = assertThrows(GeneralSecurityException.class, () -> MetaCrypto.openMeta(
          wrong[0].getBytes(UTF_8), wrong[1], wrong[2], consumer.metaKey(), consumer.metaInf(), null));
      assertTrue(e.getMessage().contains("opens with neither chacha nor aes"), e.getMessage());
    }
  }

  @Test
  void aDamagedMetaInfIsToldApartFromAWrongKey() {
    StoredMeta stream = CHACHA_STREAM;
    byte[] damaged = stream.metaInf();
    damaged[damaged.length / 2] ^= 0x40;
    GeneralSecurityException e = assertThrows(GeneralSecurityException.class, () -> MetaCrypto.openMeta(
        stream.jsKey().getBytes(UTF_8), stream.account(), stream.context(), stream.metaKey(), damaged, null));
    assertTrue(e.getMessage().contains("opens with chacha but meta.inf does not"), e.getMessage());
  }

  @Test
  void resealingKeepsTheAssetKeySoTheSameMetaKeyOpensTheNewJson() throws GeneralSecurityException {
    for (StoredMeta stored : STORED) {
      MetaCrypto.Opened opened = stored.open(stored.cipher());
      String changed = stored.json().replace("\"max_msgs\":-1", "\"max_msgs\":1000")
          .replace("\"max_deliver\":-1", "\"max_deliver\":5");
      assertNotEquals(stored.json(), changed);
      byte[] json = changed.getBytes(UTF_8);
      byte[] resealed = MetaCrypto.resealMeta(opened, json);
      assertEquals(stored.cipher().nonceSize + json.length + 16, resealed.length);
      assertFalse(Arrays.equals(Arrays.copyOf(stored.metaInf(), stored.cipher().nonceSize),
          Arrays.copyOf(resealed, stored.cipher().nonceSize)), "a fresh nonce");
      MetaCrypto.Opened reopened = MetaCrypto.openMeta(stored.jsKey().getBytes(UTF_8), stored.account(),
          stored.context(), stored.metaKey(), resealed, stored.cipher());
      assertArrayEquals(json, reopened.plaintext(), stored.context());
      assertArrayEquals(opened.assetKey(), reopened.assetKey(), stored.context());
    }
  }
}
