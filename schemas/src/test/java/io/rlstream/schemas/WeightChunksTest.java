package io.rlstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WeightChunksTest {
  private final byte[] payload = new byte[10_000];

  {
    new Random(1).nextBytes(payload);
  }

  @Test
  void splitThenAssembleGivesThePayloadBack() {
    List<WeightChunk> chunks = WeightChunks.split(3, 0, payload, 4096);
    assertThat(chunks).hasSize(3);
    assertThat(chunks).extracting(WeightChunk::getOffsetBytes).containsExactly(0L, 4096L, 8192L);
    WeightChunks.Assembly a = new WeightChunks.Assembly(3, 0);
    // out of order and one duplicate: order by index, the copy replaces the original
    a.add(chunks.get(2));
    a.add(chunks.get(0));
    a.add(chunks.get(1));
    a.add(chunks.get(0));
    assertThat(a.payload(announcement(3, payload, 3))).isEqualTo(payload);
  }

  @Test
  void corruptChunkIsRefused() {
    List<WeightChunk> chunks = WeightChunks.split(3, 0, payload, 4096);
    byte[] flipped = new byte[4096];
    chunks.get(1).getData().duplicate().get(flipped);
    flipped[17] ^= 1;
    chunks.get(1).setData(ByteBuffer.wrap(flipped));
    assertThatThrownBy(() -> assemble(chunks, announcement(3, payload, 3)))
        .isInstanceOf(WeightChunks.RefusedUpdateException.class)
        .hasMessageContaining("chunk 1 fails its SHA-256");
  }

  @Test
  void missingChunkIsATornUpdate() {
    List<WeightChunk> chunks = new ArrayList<>(WeightChunks.split(3, 0, payload, 4096));
    chunks.remove(1);
    assertThatThrownBy(() -> assemble(chunks, announcement(3, payload, 3)))
        .hasMessageContaining("have 2 of 3 chunks (torn update)");
  }

  @Test
  void wholePayloadMustMatchTheAnnouncement() {
    List<WeightChunk> chunks = WeightChunks.split(3, 0, payload, 4096);
    byte[] other = payload.clone();
    other[0] ^= 1;
    assertThatThrownBy(() -> assemble(chunks, announcement(3, other, 3)))
        .hasMessageContaining("differs from announced");
    PolicyAnnouncement wrongSize = announcement(3, payload, 3);
    wrongSize.setSizeBytes(payload.length + 1);
    assertThatThrownBy(() -> assemble(chunks, wrongSize)).hasMessageContaining("announced");
  }

  @Test
  void emptyPayloadIsOneEmptyChunk() {
    List<WeightChunk> chunks = WeightChunks.split(1, 0, new byte[0], 4096);
    assertThat(chunks).hasSize(1);
    assertThat(assemble(chunks, announcement(1, new byte[0], 1))).isEmpty();
  }

  private static byte[] assemble(List<WeightChunk> chunks, PolicyAnnouncement a) {
    WeightChunks.Assembly asm = new WeightChunks.Assembly(a.getVersion(), a.getEpoch());
    chunks.forEach(asm::add);
    return asm.payload(a);
  }

  static PolicyAnnouncement announcement(long version, byte[] payload, int chunks) {
    return PolicyAnnouncement.newBuilder()
        .setVersion(version)
        .setLearnerStep(version)
        .setSizeBytes(payload.length)
        .setSha256(WeightChunks.sha256(payload))
        .setTransport(WeightTransport.INLINE_CHUNKS)
        .setChunkCount(chunks)
        .setConsumedOffsets(Map.of())
        .setMetrics(Map.of())
        .setProvenance(Provenances.now("test"))
        .build();
  }
}
