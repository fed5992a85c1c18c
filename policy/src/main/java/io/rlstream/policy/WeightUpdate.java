package io.rlstream.policy;

import java.util.Map;

/**
 * A new version of every weight of a policy, in Java memory, ready to be swapped into a running
 * {@link PolicySampler}.
 *
 * @param version the policy version the weights belong to (monotonic per learner)
 * @param tensors every weight by Hugging Face name
 */
public record WeightUpdate(long version, Map<String, HostTensor> tensors) {
  public WeightUpdate {
    tensors = Map.copyOf(tensors);
  }
}
