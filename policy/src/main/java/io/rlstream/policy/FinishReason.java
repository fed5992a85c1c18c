package io.rlstream.policy;

/** Why a completion ended. */
public enum FinishReason {
  /** A stop token or stop string was produced. */
  STOP,
  /** The completion reached its maximum number of new tokens. */
  LENGTH
}
