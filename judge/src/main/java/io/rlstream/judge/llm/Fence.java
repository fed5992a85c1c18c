package io.rlstream.judge.llm;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Puts untrusted text (a prompt, a completion) inside the judge's message so that it cannot end its
 * wrapper or pass for the judge's own words: the text is escaped ({@code & < >} become {@code &amp;
 * &lt; &gt;}), so it contains no tag at all, and the wrapper carries a random id the text cannot
 * know. Whatever the completion says, everything outside its wrapper is the template.
 */
public final class Fence {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Fence() {}

  /** A fresh random wrapper id. */
  public static String nonce() {
    byte[] b = new byte[8];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** {@code <tag id="nonce">escaped text</tag>}. */
  public static String wrap(String tag, String nonce, String text) {
    return "<" + tag + " id=\"" + nonce + "\">" + escape(text) + "</" + tag + ">";
  }

  public static String escape(String text) {
    StringBuilder b = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }

  public static String unescape(String text) {
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
  }
}
