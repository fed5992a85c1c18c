package io.rlstream.policy;

import java.util.List;

/**
 * The output of one generate call: {@code completions.get(p).get(g)} is sample g of prompt p, all
 * produced by the weights of {@code policyVersion} (a call never mixes versions).
 *
 * @param newTokens tokens sampled in this call, over all completions
 * @param nanos wall time of the call on the model thread
 */
public record Generation(
    long policyVersion, List<List<Completion>> completions, long newTokens, long nanos) {

  public Generation {
    completions = List.copyOf(completions);
  }
}
