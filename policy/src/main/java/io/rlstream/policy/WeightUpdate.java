package io.rlstream.policy;

import java.util.Map;

/**
 * A new version of every weight of a policy, in Java memory, ready to be swapped into a running
 * {@link PolicySampler}.
 *
 * @param version the policy version the weights belong to (monotonic within an epoch)
 * @param epoch the learner epoch: a learner that resumed from a checkpoint starts a new one, whose
 *     versions replace the old epoch's even when lower (the old epoch's later versions are lost)
 * @param tensors every weight by Hugging Face name
 */
public record WeightUpdate(long version, long epoch, Map<String, HostTensor> tensors) {
  public WeightUpdate {
    tensors = Map.copyOf(tensors);
  }

  /** An update of epoch 0. */
  public WeightUpdate(long version, Map<String, HostTensor> tensors) {
    this(version, 0, tensors);
  }
}
