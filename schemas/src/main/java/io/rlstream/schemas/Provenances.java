package io.rlstream.schemas;

import java.lang.management.ManagementFactory;

/** The {@link Provenance} this process stamps on what it writes. */
public final class Provenances {
  /** The rlstream version, from the jar manifest when packaged. */
  public static final String VERSION =
      java.util.Optional.ofNullable(Provenances.class.getPackage().getImplementationVersion())
          .orElse("0.1.0-SNAPSHOT");

  private static final String INSTANCE = ManagementFactory.getRuntimeMXBean().getName();

  static {
    // record builders fill defaults by instantiating our classes, which Avro 1.12 refuses unless
    // trusted; every record we build is stamped through here first
    AvroCodec.trustGeneratedClasses();
  }

  private Provenances() {}

  /** Provenance for {@code producer}, stamped now, with this process as the instance. */
  public static Provenance now(String producer) {
    return new Provenance(producer, VERSION, INSTANCE, System.currentTimeMillis());
  }
}
