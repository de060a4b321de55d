package io.fastembedding.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fastembedding.model.LossType;
import io.fastembedding.optim.OptimizerType;
import io.fastembedding.optim.RowwiseAdam;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The constants shared with the kernels: written once in KernelConstants, generated into the header. */
class KernelConstantsTest {
  private static final Path HEADER = Path.of("src", "main", "cuda", "kernel_constants.cuh");

  @Test
  void committedHeaderIsGeneratedFromKernelConstants() throws Exception {
    assumeTrue(Files.isRegularFile(HEADER), "run from the gpu-kernels module: " + HEADER + " not found");
    assertEquals(KernelConstants.header(), Files.readString(HEADER, StandardCharsets.UTF_8),
        HEADER + " is stale: run gpu-kernels/src/main/cuda/build-ptx.sh (it regenerates the header and,"
            + " with nvcc, the PTX) and commit both");
  }

  /** Every public constant is in the header, with its value, and nothing else is. */
  @Test
  void headerListsEveryConstant() throws Exception {
    Set<String> fields = new HashSet<>();
    for (Field f : KernelConstants.class.getDeclaredFields()) {
      int mod = f.getModifiers();
      if (Modifier.isPublic(mod) && Modifier.isStatic(mod) && f.getType() == int.class) {
        fields.add(f.getName());
        assertTrue(KernelConstants.header().contains("#define " + f.getName() + " " + f.getInt(null) + " "),
            f.getName() + " is missing from the header or has another value");
      } else if (Modifier.isPublic(mod) && Modifier.isStatic(mod) && f.getType() == float.class) {
        fields.add(f.getName());
        String literal = f.getFloat(null) + "f";
        assertTrue(KernelConstants.header().contains("#define " + f.getName() + " " + literal + " "),
            f.getName() + " is missing from the header or has another value");
        assertEquals(f.getFloat(null), Float.parseFloat(literal), f.getName() + ": the literal reads back");
      }
    }
    Set<String> defines = new HashSet<>();
    for (Object[] d : KernelConstants.DEFINES) {
      assertTrue(defines.add((String) d[0]), d[0] + " listed twice");
    }
    assertEquals(fields, defines, "KernelConstants.DEFINES must list exactly the public constants");
  }

  /**
   * The optimizer codes come from the optim package (OptimizerType), each type has its own, and the
   * loss enum maps onto the kernels' loss codes.
   */
  @Test
  void javaCodesAreTheKernelConstants() {
    assertEquals(KernelConstants.OPT_SGD, OptimizerType.SGD.kernelCode());
    assertEquals(KernelConstants.OPT_ADAGRAD, OptimizerType.ADAGRAD.kernelCode());
    assertEquals(KernelConstants.OPT_ROWWISE, OptimizerType.ROWWISE_ADAGRAD.kernelCode());
    assertEquals(KernelConstants.OPT_ROWWISE_ADAM, OptimizerType.ROWWISE_ADAM.kernelCode());
    Set<Integer> codes = new HashSet<>();
    for (OptimizerType t : OptimizerType.values()) {
      assertTrue(codes.add(t.kernelCode()), t + ": its kernel code " + t.kernelCode() + " is taken");
    }
    assertEquals(KernelConstants.ADAM_BETA1, RowwiseAdam.BETA1);
    assertEquals(KernelConstants.ADAM_BETA2, RowwiseAdam.BETA2);
    assertEquals(KernelConstants.LOSS_LOGISTIC, CudaBackend.lossCode(LossType.LOGISTIC));
    assertEquals(KernelConstants.LOSS_SQUARED, CudaBackend.lossCode(LossType.SQUARED));
  }
}
