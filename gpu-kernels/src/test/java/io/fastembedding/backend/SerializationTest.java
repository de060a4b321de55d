package io.fastembedding.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fastembedding.model.HeadType;
import io.fastembedding.model.ModelSpec;
import io.fastembedding.model.ModelState;
import io.fastembedding.testutil.Data;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import org.junit.jupiter.api.Test;

/** What Spark caches and ships (specs, states, row blocks, touched rows) survives Java serialization. */
class SerializationTest {
  @SuppressWarnings("unchecked")
  static <T> T roundTrip(T o) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(o);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      return (T) in.readObject();
    }
  }

  @Test
  void stateAndSpecRoundTripAndTheLayoutIsRebuilt() throws Exception {
    ModelSpec spec = ModelSpec.builder(new int[] {7, 9}, new int[] {3, 2}).fieldNames("a", "b")
        .numNumeric(1).head(HeadType.MLP).hiddenLayers(4).build();
    ModelState s = ModelState.initial(spec);
    ModelState back = roundTrip(s);
    assertTrue(s.bitEquals(back));
    assertEquals(spec.layout(), back.spec.layout());
    assertEquals(spec.layout().offset(1), back.spec.layout().offset(1));
    assertEquals(spec.headSize(), back.spec.headSize());
  }

  @Test
  void rowBlockAndTouchedRowsRoundTrip() throws Exception {
    ModelSpec spec = ModelSpec.builder(new int[] {7, 9}, new int[] {2, 2}).numNumeric(1).build();
    RowBlock b = Data.random(spec, 20, true, 1);
    RowBlock bb = roundTrip(b);
    assertArrayEquals(b.indices, bb.indices);
    assertArrayEquals(b.numeric, bb.numeric);
    assertArrayEquals(b.labels, bb.labels);
    assertArrayEquals(b.weights, bb.weights);
    try (Backend cpu = Backends.cpu(spec, new BackendOptions(true, 1))) {
      cpu.trainStep(b, 0, 20);
      TouchedRows t = cpu.exportTouched(false);
      TouchedRows tt = roundTrip(t);
      assertEquals(t.spec, tt.spec);
      for (int f = 0; f < 2; f++) {
        assertArrayEquals(t.rows[f], tt.rows[f]);
        assertArrayEquals(t.counts[f], tt.counts[f]);
        assertArrayEquals(t.values[f], tt.values[f]);
        assertArrayEquals(t.firstOrder[f], tt.firstOrder[f]);
        assertArrayEquals(t.accum[f], tt.accum[f]);
      }
      assertArrayEquals(t.head, tt.head);
    }
  }
}
